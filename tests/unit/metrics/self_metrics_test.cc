// The self-metrics registry: handles, kinds, the catalog, collect callbacks.
#include "metrics/self_metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace sonde {
namespace {

TEST(SelfMetrics, CountersGaugesAndDoubleCountersAreCollected) {
  auto res = std::make_shared<Resource>();
  res->attributes = {{"service.name", std::string("sonde")}};
  SelfMetrics m(res, 10);
  auto* lost_full = m.GetCounter(self_metric::kEventsLost, {{"reason", std::string("ringbuf_full")}});
  auto* lost_conn = m.GetCounter(self_metric::kEventsLost, {{"reason", std::string("conn_map_full")}});
  lost_full->Add(3);
  lost_full->Add();
  lost_conn->Set(9);
  EXPECT_EQ(m.GetCounter(self_metric::kEventsLost, {{"reason", std::string("ringbuf_full")}}), lost_full);
  m.GetGauge(self_metric::kExportQueueSize)->Set(17);
  m.GetDoubleCounter(self_metric::kBpfRunTime, {{"program", std::string("p")}})->Add(0.5);
  m.GetDoubleCounter(self_metric::kBpfRunTime, {{"program", std::string("p")}})->Add(0.25);

  MetricsSnapshot s = m.CollectAt(20);
  EXPECT_EQ(s.start_unix_ns, 10u);
  EXPECT_EQ(s.time_unix_ns, 20u);
  ASSERT_EQ(s.resources.size(), 1u);
  EXPECT_EQ(s.resources[0].resource, res);
  std::map<std::string, const MetricData*> by;
  for (const auto& md : s.resources[0].metrics) by[md.name] = &md;
  ASSERT_EQ(by.size(), 3u);

  const MetricData* lost = by.at("sonde.events.lost");
  EXPECT_EQ(lost->kind, MetricKind::kCounter);
  EXPECT_EQ(lost->unit, "{event}");
  EXPECT_FALSE(lost->description.empty());
  ASSERT_EQ(lost->points.size(), 2u);
  std::map<std::string, int64_t> values;
  for (const auto& p : lost->points) values[std::get<std::string>(p.attributes.at(0).value)] = p.int_value;
  EXPECT_EQ(values, (std::map<std::string, int64_t>{{"ringbuf_full", 4}, {"conn_map_full", 9}}));

  EXPECT_EQ(by.at("sonde.export.queue.size")->kind, MetricKind::kGauge);
  EXPECT_EQ(by.at("sonde.export.queue.size")->points.at(0).int_value, 17);
  const MetricData* rt = by.at("sonde.bpf.run_time");
  EXPECT_EQ(rt->unit, "s");
  EXPECT_TRUE(rt->points.at(0).is_double);
  EXPECT_DOUBLE_EQ(rt->points.at(0).double_value, 0.75);
}

TEST(SelfMetrics, MisuseIsAProgrammingError) {
  SelfMetrics m(nullptr);
  EXPECT_THROW(m.GetCounter("sonde.no.such.metric"), std::logic_error);
  EXPECT_THROW(m.GetGauge(self_metric::kEventsLost), std::logic_error);
  EXPECT_THROW(m.GetCounter(self_metric::kBpfRunTime), std::logic_error);  // a double counter
  m.Describe("custom.things", MetricKind::kCounter, false, "{thing}", "Things.");
  m.GetCounter("custom.things")->Add(2);
  EXPECT_EQ(m.Collect().resources.at(0).metrics.at(0).name, "custom.things");
}

TEST(SelfMetrics, CallbacksRefreshValuesAtEveryCollection) {
  SelfMetrics m(nullptr);
  uint64_t source = 1;
  m.AddCollectCallback([&](SelfMetrics& r) { r.GetCounter(self_metric::kSpansExported)->Set(source); });
  EXPECT_EQ(m.Collect().resources.at(0).metrics.at(0).points.at(0).int_value, 1);
  source = 42;
  EXPECT_EQ(m.Collect().resources.at(0).metrics.at(0).points.at(0).int_value, 42);
}

TEST(SelfMetrics, NothingRegisteredCollectsNothing) {
  SelfMetrics m(nullptr);
  EXPECT_TRUE(m.Collect().resources.empty());
}

TEST(SelfMetrics, HandlesAreSafeFromManyThreads) {
  SelfMetrics m(nullptr);
  auto* c = m.GetCounter(self_metric::kEventsCaptured);
  auto* d = m.GetDoubleCounter(self_metric::kBpfRunTime);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Add();
        d->Add(1);
        if (i % 1000 == 0) m.Collect();
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c->value(), 40000u);
  EXPECT_DOUBLE_EQ(d->value(), 40000);
}

}  // namespace
}  // namespace sonde
