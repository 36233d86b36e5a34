// RED metrics from spans: which span feeds which histogram, the attributes
// kept (low cardinality only), bucket placement, per-resource series, the
// cardinality limit and thread safety.
#include "metrics/red_metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace sonde {
namespace {

std::shared_ptr<const Resource> Res(const std::string& service, int64_t pid) {
  auto r = std::make_shared<Resource>();
  r->attributes = {{"service.name", service}, {"process.pid", pid}};
  return r;
}

Span MakeSpan(SpanKind kind, uint64_t duration_ns, Attributes attrs, std::shared_ptr<const Resource> r) {
  Span s;
  s.kind = kind;
  s.start_unix_ns = 1700000000000000000ULL;
  s.end_unix_ns = s.start_unix_ns + duration_ns;
  s.attributes = std::move(attrs);
  s.resource = std::move(r);
  return s;
}

std::string Text(const AttrValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "?";
}

std::map<std::string, std::string> AttrMap(const Attributes& a) {
  std::map<std::string, std::string> m;
  for (const auto& x : a) m[x.key] = Text(x.value);
  return m;
}

// The single metric of the single resource of a snapshot (a copy: the
// snapshot is often a temporary).
MetricData Only(const MetricsSnapshot& s) {
  EXPECT_EQ(s.resources.size(), 1u);
  EXPECT_EQ(s.resources.at(0).metrics.size(), 1u);
  return s.resources.at(0).metrics.at(0);
}

// A series is found by a key of its attributes in which '\\' and '\x1f'
// are escaped: values holding them stay apart and come out as they went in.
TEST(RedMetrics, ValuesWithKeySeparatorsKeepTheirOwnSeries) {
  RedMetrics red(RedMetricsOptions{}, 5);
  auto res = Res("svc", 1);
  const std::string kRoutes[] = {"/p\\q", std::string("/p\x1fq"), "/p\\q", "/pq", std::string("/p\x1f") + "q"};
  for (const std::string& route : kRoutes)
    red.Record(MakeSpan(SpanKind::kServer, 1000, {{"http.request.method", std::string("GET")}, {"http.route", route}},
                        res));
  MetricData md = Only(red.Collect());
  std::map<std::string, uint64_t> counts;
  for (const MetricPoint& p : md.points) counts[AttrMap(p.attributes).at("http.route")] = p.histogram.count;
  EXPECT_EQ(counts, (std::map<std::string, uint64_t>{{"/p\\q", 2}, {std::string("/p\x1fq"), 2}, {"/pq", 1}}));
}

TEST(RedMetrics, HttpServerSpanFeedsTheServerHistogramWithLowCardinalityAttributes) {
  RedMetrics red(RedMetricsOptions{}, 5);
  red.Record(MakeSpan(SpanKind::kServer, 30000000,  // 0.03 s
                      {{"http.request.method", std::string("POST")},
                       {"http.response.status_code", int64_t{201}},
                       {"http.route", std::string("/orders/{id}")},
                       {"url.path", std::string("/orders/981")},
                       {"url.query", std::string("x=1")},
                       {"url.scheme", std::string("http")},
                       {"network.protocol.name", std::string("http")},
                       {"network.protocol.version", std::string("1.1")},
                       {"server.address", std::string("10.0.0.1")},
                       {"client.address", std::string("10.0.0.9")},
                       {"user_agent.original", std::string("curl/8")},
                       {"http.request.header.x-request-id", std::string("abc")}},
                      Res("api", 1)));
  MetricsSnapshot snap = red.CollectAt(99);
  EXPECT_EQ(snap.start_unix_ns, 5u);
  EXPECT_EQ(snap.time_unix_ns, 99u);
  const MetricData m = Only(snap);
  EXPECT_EQ(m.name, "http.server.request.duration");
  EXPECT_EQ(m.unit, "s");
  EXPECT_EQ(m.kind, MetricKind::kHistogram);
  EXPECT_EQ(m.bounds, DurationBucketsSeconds());
  ASSERT_EQ(m.points.size(), 1u);
  EXPECT_EQ(AttrMap(m.points[0].attributes),
            (std::map<std::string, std::string>{{"http.request.method", "POST"},
                                                {"http.response.status_code", "201"},
                                                {"http.route", "/orders/{id}"},
                                                {"url.scheme", "http"},
                                                {"network.protocol.name", "http"},
                                                {"network.protocol.version", "1.1"}}));
  const HistogramValue& h = m.points[0].histogram;
  EXPECT_EQ(h.count, 1u);
  EXPECT_DOUBLE_EQ(h.sum, 0.03);
  ASSERT_EQ(h.bucket_counts.size(), 15u);
  EXPECT_EQ(h.bucket_counts[3], 1u);  // (0.025, 0.05]
  EXPECT_EQ(snap.resources[0].resource->attributes[0].key, "service.name");
}

TEST(RedMetrics, HttpClientKeepsThePeerButNotTheRoute) {
  RedMetrics red;
  red.Record(MakeSpan(SpanKind::kClient, 1000000,
                      {{"http.request.method", std::string("GET")},
                       {"http.response.status_code", int64_t{503}},
                       {"error.type", std::string("503")},
                       {"server.address", std::string("payments")},
                       {"server.port", int64_t{8080}},
                       {"url.full", std::string("http://payments:8080/charge/77")},
                       {"network.peer.address", std::string("10.1.2.3")}},
                      Res("web", 2)));
  const MetricData m = Only(red.Collect());
  EXPECT_EQ(m.name, "http.client.request.duration");
  EXPECT_EQ(AttrMap(m.points.at(0).attributes),
            (std::map<std::string, std::string>{{"http.request.method", "GET"},
                                                {"http.response.status_code", "503"},
                                                {"error.type", "503"},
                                                {"server.address", "payments"},
                                                {"server.port", "8080"}}));
}

TEST(RedMetrics, DatabaseClientSpans) {
  RedMetrics red;
  red.Record(MakeSpan(SpanKind::kClient, 2000000,
                      {{"db.system.name", std::string("postgresql")},
                       {"db.namespace", std::string("shop")},
                       {"db.operation.name", std::string("SELECT")},
                       {"db.collection.name", std::string("orders")},
                       {"db.query.text", std::string("SELECT * FROM orders WHERE id = $1")},
                       {"server.address", std::string("db")},
                       {"server.port", int64_t{5432}}},
                      Res("api", 1)));
  // The old attribute name still counts.
  red.Record(MakeSpan(SpanKind::kClient, 2000000,
                      {{"db.system", std::string("redis")}, {"db.operation.name", std::string("GET")}}, Res("api", 1)));
  // A database SERVER span has no semantic-convention metric.
  red.Record(MakeSpan(SpanKind::kServer, 2000000, {{"db.system.name", std::string("redis")}}, Res("api", 1)));
  const MetricData m = Only(red.Collect());
  EXPECT_EQ(m.name, "db.client.operation.duration");
  ASSERT_EQ(m.points.size(), 2u);
  std::set<std::map<std::string, std::string>> sets;
  for (const auto& p : m.points) sets.insert(AttrMap(p.attributes));
  EXPECT_TRUE(sets.count({{"db.system.name", "postgresql"},
                          {"db.namespace", "shop"},
                          {"db.operation.name", "SELECT"},
                          {"db.collection.name", "orders"},
                          {"server.address", "db"},
                          {"server.port", "5432"}}));
  EXPECT_TRUE(sets.count({{"db.system.name", "redis"}, {"db.operation.name", "GET"}}));
  EXPECT_EQ(red.stats().recorded, 2u);
  EXPECT_EQ(red.stats().not_applicable, 1u);
}

TEST(RedMetrics, RpcSpansUseTheCurrentNamesInSecondsOrTheLegacyOnesInMilliseconds) {
  Attributes rpc = {{"rpc.system", std::string("grpc")},
                    {"rpc.service", std::string("shop.Cart")},
                    {"rpc.method", std::string("Add")},
                    {"rpc.grpc.status_code", int64_t{0}}};
  RedMetricsOptions both;
  both.rpc_names = RpcMetricNames::kBoth;
  RedMetrics red(both);
  red.Record(MakeSpan(SpanKind::kServer, 50000000, rpc, Res("cart", 3)));  // 50 ms
  red.Record(MakeSpan(SpanKind::kClient, 50000000, rpc, Res("cart", 3)));
  MetricsSnapshot snap = red.Collect();
  ASSERT_EQ(snap.resources.size(), 1u);
  std::map<std::string, const MetricData*> by_name;
  for (const auto& m : snap.resources[0].metrics) by_name[m.name] = &m;
  ASSERT_EQ(by_name.size(), 4u);
  const MetricData* current = by_name.at("rpc.server.call.duration");
  EXPECT_EQ(current->unit, "s");
  EXPECT_DOUBLE_EQ(current->points.at(0).histogram.sum, 0.05);
  EXPECT_EQ(AttrMap(current->points.at(0).attributes),
            (std::map<std::string, std::string>{{"rpc.system.name", "grpc"},
                                                {"rpc.method", "shop.Cart/Add"},
                                                {"rpc.response.status_code", "OK"}}));
  const MetricData* legacy = by_name.at("rpc.server.duration");
  EXPECT_EQ(legacy->unit, "ms");
  EXPECT_DOUBLE_EQ(legacy->points.at(0).histogram.sum, 50);
  EXPECT_EQ(legacy->bounds.back(), 10000);
  EXPECT_EQ(AttrMap(legacy->points.at(0).attributes).at("rpc.service"), "shop.Cart");
  EXPECT_TRUE(by_name.count("rpc.client.call.duration"));
  EXPECT_TRUE(by_name.count("rpc.client.duration"));

  RedMetrics stable;  // the default: current names only
  stable.Record(MakeSpan(SpanKind::kServer, 1, rpc, Res("cart", 3)));
  EXPECT_EQ(Only(stable.Collect()).name, "rpc.server.call.duration");
}

TEST(RedMetrics, BucketBoundariesAreUpperInclusive) {
  RedMetrics red;
  auto r = Res("a", 1);
  Attributes a = {{"http.request.method", std::string("GET")}};
  for (uint64_t ns : {0ULL, 5000000ULL, 5000001ULL, 10000000000ULL, 10000000001ULL, 99000000000ULL})
    red.Record(MakeSpan(SpanKind::kServer, ns, a, r));
  // A span that ends before it starts counts as zero.
  Span backwards = MakeSpan(SpanKind::kServer, 0, a, r);
  backwards.end_unix_ns = backwards.start_unix_ns - 5;
  red.Record(backwards);
  const HistogramValue h = Only(red.Collect()).points.at(0).histogram;
  EXPECT_EQ(h.bucket_counts[0], 3u);   // 0, 0.005 and the backwards one: (-inf, 0.005]
  EXPECT_EQ(h.bucket_counts[1], 1u);   // 0.005000001
  EXPECT_EQ(h.bucket_counts[13], 1u);  // exactly 10
  EXPECT_EQ(h.bucket_counts[14], 2u);  // above 10
  EXPECT_EQ(h.count, 7u);
  EXPECT_DOUBLE_EQ(h.min, 0);
  EXPECT_DOUBLE_EQ(h.max, 99);
}

TEST(RedMetrics, SeriesArePerResourceAndResourcesMatchByContent) {
  RedMetrics red;
  Attributes a = {{"http.request.method", std::string("GET")}};
  auto first = Res("api", 1);
  red.Record(MakeSpan(SpanKind::kServer, 1000, a, first));
  red.Record(MakeSpan(SpanKind::kServer, 1000, a, Res("api", 1)));  // rebuilt, same contents
  red.Record(MakeSpan(SpanKind::kServer, 1000, a, Res("api", 2)));  // another process
  red.Record(MakeSpan(SpanKind::kServer, 1000, a, nullptr));
  MetricsSnapshot snap = red.Collect();
  ASSERT_EQ(snap.resources.size(), 3u);
  EXPECT_EQ(snap.resources[0].resource, first);
  EXPECT_EQ(snap.resources[0].metrics[0].points[0].histogram.count, 2u);
  EXPECT_EQ(snap.resources[1].metrics[0].points[0].histogram.count, 1u);
  EXPECT_EQ(snap.resources[2].resource, nullptr);
}

TEST(RedMetrics, SpansWithoutAMetricAreCountedNotRecorded) {
  RedMetrics red;
  red.Record(MakeSpan(SpanKind::kInternal, 1000, {{"http.request.method", std::string("GET")}}, Res("a", 1)));
  red.Record(MakeSpan(SpanKind::kServer, 1000, {{"foo", std::string("bar")}}, Res("a", 1)));
  red.Record(MakeSpan(SpanKind::kProducer, 1000, {{"db.system.name", std::string("redis")}}, Res("a", 1)));
  EXPECT_TRUE(red.Collect().resources.empty());
  EXPECT_EQ(red.stats().not_applicable, 3u);
  EXPECT_EQ(red.stats().recorded, 0u);
}

TEST(RedMetrics, ErrorStatusWithoutErrorTypeGetsOther) {
  RedMetrics red;
  Span s = MakeSpan(SpanKind::kClient, 1000, {{"db.system.name", std::string("redis")}}, Res("a", 1));
  s.status = StatusCode::kError;
  red.Record(s);
  EXPECT_EQ(AttrMap(Only(red.Collect()).points.at(0).attributes).at("error.type"), "_OTHER");
}

TEST(RedMetrics, CardinalityLimitFoldsNewAttributeSetsIntoAnOverflowSeries) {
  RedMetricsOptions o;
  o.max_series_per_metric = 3;
  RedMetrics red(o);
  auto r = Res("a", 1);
  for (int i = 0; i < 10; ++i)
    red.Record(MakeSpan(SpanKind::kServer, 1000,
                        {{"http.request.method", std::string("GET")}, {"http.route", "/r" + std::to_string(i)}}, r));
  red.Record(MakeSpan(SpanKind::kServer, 1000,
                      {{"http.request.method", std::string("GET")}, {"http.route", std::string("/r1")}}, r));
  const MetricData m = Only(red.Collect());
  ASSERT_EQ(m.points.size(), 4u);  // 3 sets + the overflow series
  uint64_t total = 0, overflow = 0;
  for (const auto& p : m.points) {
    total += p.histogram.count;
    if (AttrMap(p.attributes) == std::map<std::string, std::string>{{"otel.metric.overflow", "true"}})
      overflow = p.histogram.count;
  }
  EXPECT_EQ(total, 11u);  // nothing lost
  EXPECT_EQ(overflow, 7u);
  EXPECT_EQ(red.stats().overflowed, 7u);
}

TEST(RedMetrics, RecordAndCollectFromDifferentThreads) {
  RedMetrics red;
  auto r = Res("a", 1);
  std::atomic<bool> done{false};
  std::thread collector([&] {
    while (!done.load()) red.Collect();
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i)
        red.Record(MakeSpan(SpanKind::kServer, 1000 * static_cast<uint64_t>(i % 100),
                            {{"http.request.method", std::string(t ? "GET" : "POST")}}, r));
    });
  for (auto& w : writers) w.join();
  done.store(true);
  collector.join();
  uint64_t total = 0;
  const MetricData m = Only(red.Collect());
  for (const auto& p : m.points) total += p.histogram.count;
  EXPECT_EQ(total, 40000u);
}

}  // namespace
}  // namespace sonde
