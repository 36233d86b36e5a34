// Redis and PostgreSQL spans from the wire: real servers, real clients and
// the real BPF programs.
#include <map>
#include <thread>

#include "db_servers.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

std::vector<ReceivedSpan> WithAttr(const std::vector<ReceivedSpan>& spans, const std::string& key,
                                   const std::string& value) {
  std::vector<ReceivedSpan> out;
  for (auto& s : spans)
    if (s.Attr(key) == value) out.push_back(s);
  return out;
}

std::map<std::string, int> CountByName(const std::vector<ReceivedSpan>& spans) {
  std::map<std::string, int> m;
  for (auto& s : spans) m[s.name]++;
  return m;
}

TEST_F(SondeTest, RedisCliCommandsGiveClientAndServerSpans) {
  RedisServer redis;
  StartSonde();
  redis.Cli({"-n", "3", "SET", "greeting", "hello"});
  Child get({"redis-cli", "-p", std::to_string(redis.port()), "-n", "3", "GET", "greeting"});
  EXPECT_EQ(get.ReadAll(milliseconds(5000)), "hello\n");
  get.Wait(milliseconds(5000));
  Child bad({"redis-cli", "-p", std::to_string(redis.port()), "-n", "3", "INCR", "greeting"});
  bad.Wait(milliseconds(5000));

  auto client = SpansOf(get.pid(), 2, kClient);
  // redis-cli selects the database first, then sends the command.
  ASSERT_EQ(client.size(), 2u) << Describe(client);
  const ReceivedSpan* g = OneNamed(client, "GET");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->Attr("db.system.name"), "redis");
  EXPECT_EQ(g->Attr("db.operation.name"), "GET");
  EXPECT_EQ(g->Attr("db.query.text"), "GET ?");
  EXPECT_EQ(g->Attr("db.namespace"), "3");
  EXPECT_EQ(g->Attr("server.address"), "127.0.0.1");
  EXPECT_EQ(g->IntAttr("server.port"), redis.port());
  EXPECT_EQ(g->status_code, kUnset);
  EXPECT_NE(OneNamed(client, "SELECT"), nullptr);

  auto failed = SpansOf(bad.pid(), 2, kClient);
  const ReceivedSpan* incr = OneNamed(failed, "INCR");
  ASSERT_NE(incr, nullptr);
  EXPECT_EQ(incr->status_code, kError);
  EXPECT_EQ(incr->Attr("error.type"), "ERR");

  // redis-server itself is traced too: SERVER spans for the same commands.
  auto server = SpansOf(redis.pid(), 6, kServer);
  auto names = CountByName(server);
  EXPECT_EQ(names["GET"], 1) << Describe(server);
  EXPECT_EQ(names["SET"], 1) << Describe(server);
  EXPECT_EQ(names["INCR"], 1) << Describe(server);
}

TEST_F(SondeTest, PsqlQueriesGiveClientSpansWithSanitizedText) {
  PostgresServer pg;
  StartSonde();
  Child psql({"psql", "-X", "-q", "-h", "127.0.0.1", "-p", std::to_string(pg.port()), "-U", "postgres", "-d", "shop",
              "-c", "SELECT name FROM users WHERE id = 2", "-c", "UPDATE orders SET total = 99 WHERE id = 1", "-c",
              "SELECT * FROM missing_table"});
  psql.Wait(milliseconds(10000));
  auto spans = SpansOf(psql.pid(), 3, kClient);
  auto pgspans = WithAttr(spans, "db.system.name", "postgresql");
  ASSERT_EQ(pgspans.size(), 3u) << Describe(spans);
  const ReceivedSpan* sel = OneNamed(pgspans, "SELECT users");
  ASSERT_NE(sel, nullptr);
  EXPECT_EQ(sel->Attr("db.namespace"), "shop");
  EXPECT_EQ(sel->Attr("db.operation.name"), "SELECT");
  EXPECT_EQ(sel->Attr("db.collection.name"), "users");
  EXPECT_EQ(sel->Attr("db.query.text"), "SELECT name FROM users WHERE id = ?");
  EXPECT_EQ(sel->IntAttr("db.response.returned_rows"), 1);
  EXPECT_EQ(sel->IntAttr("server.port"), pg.port());
  const ReceivedSpan* upd = OneNamed(pgspans, "UPDATE orders");
  ASSERT_NE(upd, nullptr);
  EXPECT_EQ(upd->status_code, kUnset);
  const ReceivedSpan* missing = OneNamed(pgspans, "SELECT missing_table");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->status_code, kError);
  EXPECT_EQ(missing->Attr("db.response.status_code"), "42P01");
  EXPECT_EQ(missing->Attr("error.type"), "42P01");
}

TEST_F(SondeTest, FlaskServiceWithRedisAndPostgres) {
  RedisServer redis;
  PostgresServer pg;
  StartSonde();
  uint16_t port = FreePort();
  Child app({Python(), SourceDir() + "/tests/integration/apps/flask_db_app.py", std::to_string(port),
             std::to_string(redis.port()), std::to_string(pg.port()), pg.dir()});
  ASSERT_TRUE(app.WaitForLine("listening", milliseconds(15000)));
  ASSERT_TRUE(WaitForPort(port, milliseconds(10000)));
  Child client({Python(), SourceDir() + "/tests/integration/apps/client.py", "http://127.0.0.1:" + std::to_string(port),
                R"([{"path": "/users/1"}, {"path": "/users/1"}, {"path": "/broken"}])"});
  ASSERT_EQ(client.Wait(milliseconds(20000)), 0);

  auto server = SpansOf(app.pid(), 3, kServer);
  ASSERT_EQ(server.size(), 3u) << Describe(server);
  EXPECT_EQ(CountByName(server)["GET /users/{id}"], 2);
  auto client_spans = SpansOf(app.pid(), 7, kClient);
  auto redis_spans = WithAttr(client_spans, "db.system.name", "redis");
  auto pg_spans = WithAttr(client_spans, "db.system.name", "postgresql");
  // redis-py selects db 2 on connect; /users/1 (miss): GET, SELECT, SET; /users/1 (hit): GET;
  // /broken: SELECT (error), INCR (sent as INCRBY, an error reply).
  auto rnames = CountByName(redis_spans);
  EXPECT_EQ(rnames["GET"], 2) << Describe(redis_spans);
  EXPECT_EQ(rnames["SET"], 1) << Describe(redis_spans);
  EXPECT_EQ(rnames["INCRBY"], 1) << Describe(redis_spans);
  EXPECT_EQ(rnames["SELECT"], 1) << Describe(redis_spans);
  const ReceivedSpan* incr = OneNamed(redis_spans, "INCRBY");
  ASSERT_NE(incr, nullptr);
  EXPECT_EQ(incr->status_code, kError);
  EXPECT_EQ(incr->Attr("error.type"), "ERR");
  // SELECT itself runs in database 0; every command after it in database 2.
  for (auto& s : redis_spans)
    if (s.name != "SELECT") EXPECT_EQ(s.Attr("db.namespace"), "2") << s.name;
  const ReceivedSpan* set = OneNamed(redis_spans, "SET");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->Attr("db.query.text"), "SET ? ? ? ?");
  const ReceivedSpan* sel = OneNamed(pg_spans, "SELECT users");
  ASSERT_NE(sel, nullptr);
  EXPECT_EQ(sel->Attr("db.query.text"), "SELECT name FROM users WHERE id = ?");
  EXPECT_EQ(sel->Attr("db.namespace"), "shop");
  const ReceivedSpan* bad = OneNamed(pg_spans, "SELECT no_such_table");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->status_code, kError);
  EXPECT_EQ(bad->Attr("error.type"), "42P01");
}

TEST_F(SondeTest, ExpressServiceWithIoredisAndNodePg) {
  RedisServer redis;
  PostgresServer pg;
  StartSonde();
  uint16_t port = FreePort();
  Child app({"node", SourceDir() + "/tests/integration/apps/express_db_app.js", std::to_string(port),
             std::to_string(redis.port()), std::to_string(pg.port())});
  ASSERT_TRUE(app.WaitForLine("listening", milliseconds(15000))) << app.seen();
  Child client({Python(), SourceDir() + "/tests/integration/apps/client.py", "http://127.0.0.1:" + std::to_string(port),
                R"([{"path": "/orders/2"}, {"method": "POST", "path": "/orders"}])"});
  ASSERT_EQ(client.Wait(milliseconds(20000)), 0);
  auto server = SpansOf(app.pid(), 2, kServer);
  EXPECT_EQ(CountByName(server)["GET /orders/{id}"], 1) << Describe(server);
  EXPECT_EQ(CountByName(server)["POST /orders"], 1) << Describe(server);
  auto client_spans = SpansOf(app.pid(), 5, kClient);
  auto pg_spans = WithAttr(client_spans, "db.system.name", "postgresql");
  auto redis_spans = WithAttr(client_spans, "db.system.name", "redis");
  const ReceivedSpan* sel = OneNamed(pg_spans, "SELECT orders");
  ASSERT_NE(sel, nullptr);
  EXPECT_EQ(sel->Attr("db.query.text"), "SELECT id, total FROM orders WHERE id = $1");
  EXPECT_EQ(sel->IntAttr("db.response.returned_rows"), 1);
  const ReceivedSpan* ins = OneNamed(pg_spans, "INSERT orders");
  ASSERT_NE(ins, nullptr);
  EXPECT_EQ(ins->Attr("db.operation.name"), "INSERT");
  auto rnames = CountByName(redis_spans);
  EXPECT_EQ(rnames["SET"], 1) << Describe(redis_spans);
  EXPECT_EQ(rnames["INCR"], 1) << Describe(redis_spans);
  for (auto& s : redis_spans)
    if (s.name != "SELECT") EXPECT_EQ(s.Attr("db.namespace"), "4") << s.name;
}

// Load: every command the server executed is one span, none mis-paired.
TEST_F(SondeTest, RedisBenchmarkPipelinedSpanCountsEqualCommandStats) {
  RedisServer redis;
  redis.Cli({"CONFIG", "RESETSTAT"});
  StartSonde({"--pid", std::to_string(redis.pid())},
             {"OTEL_BSP_MAX_QUEUE_SIZE=200000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=4096"});
  int code = -1;
  RunCommand({"redis-benchmark", "-p", std::to_string(redis.port()), "-n", "20000", "-P", "16", "-t", "set,get,incr,lpush",
       "-q"},
      &code);
  ASSERT_EQ(code, 0);
  auto calls = redis.CommandCalls();
  auto spans = SpansOf(redis.pid(), calls["set"] + calls["get"] + calls["incr"] + calls["lpush"], kServer, 60000);
  auto names = CountByName(spans);
  printf("redis-benchmark -n 20000 -P 16: server executed set=%ld get=%ld incr=%ld lpush=%ld; spans SET=%d GET=%d "
         "INCR=%d LPUSH=%d\n",
         calls["set"], calls["get"], calls["incr"], calls["lpush"], names["SET"], names["GET"], names["INCR"],
         names["LPUSH"]);
  EXPECT_EQ(names["SET"], calls["set"]);
  EXPECT_EQ(names["GET"], calls["get"]);
  EXPECT_EQ(names["INCR"], calls["incr"]);
  EXPECT_EQ(names["LPUSH"], calls["lpush"]);
  int errors = 0;
  for (auto& s : spans) errors += s.status_code == kError;
  EXPECT_EQ(errors, 0) << "a mis-paired reply would show up as a wrong status";
}

TEST_F(SondeTest, PgbenchSpanCountsEqualStatementsExecuted) {
  PostgresServer pg;
  int code = -1;
  RunCommand({"pgbench", "-i", "-q", "-h", "127.0.0.1", "-p", std::to_string(pg.port()), "-U", "postgres", "shop"}, &code);
  ASSERT_EQ(code, 0);
  StartSonde({"--pid", std::to_string(pg.pid())},
             {"OTEL_BSP_MAX_QUEUE_SIZE=200000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=4096"});
  std::string report = RunCommand({"pgbench", "-n", "-c", "4", "-t", "1000", "-h", "127.0.0.1", "-p", std::to_string(pg.port()),
                            "-U", "postgres", "shop"},
                           &code, milliseconds(300000));
  ASSERT_EQ(code, 0) << report;
  ASSERT_NE(report.find("number of transactions actually processed: 4000/4000"), std::string::npos) << report;
  // TPC-B-like script: BEGIN; UPDATE accounts; SELECT; UPDATE tellers; UPDATE branches; INSERT history; END.
  std::vector<ReceivedSpan> spans;
  for (int i = 0; i < 600; ++i) {
    spans.clear();
    for (auto& s : receiver_->Spans())
      if (s.kind == kServer && s.Attr("db.system.name") == "postgresql") spans.push_back(s);
    if (WithAttr(spans, "db.operation.name", "INSERT").size() >= 4000 &&
        WithAttr(spans, "db.operation.name", "UPDATE").size() >= 12000)
      break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::this_thread::sleep_for(milliseconds(500));
  spans.clear();
  for (auto& s : receiver_->Spans())
    if (s.kind == kServer && s.Attr("db.system.name") == "postgresql") spans.push_back(s);
  auto names = CountByName(spans);
  size_t updates = WithAttr(spans, "db.operation.name", "UPDATE").size();
  size_t inserts = WithAttr(spans, "db.operation.name", "INSERT").size();
  printf("pgbench -c 4 -t 1000: 4000 transactions; SERVER spans: %zu total, UPDATE=%zu INSERT=%zu, "
         "UPDATE pgbench_accounts=%d SELECT pgbench_accounts=%d\n",
         spans.size(), updates, inserts, names["UPDATE pgbench_accounts"], names["SELECT pgbench_accounts"]);
  EXPECT_EQ(updates, 12000u);
  EXPECT_EQ(inserts, 4000u);
  EXPECT_EQ(names["UPDATE pgbench_accounts"], 4000);
  EXPECT_EQ(names["SELECT pgbench_accounts"], 4000);
  int errors = 0;
  for (auto& s : spans) errors += s.status_code == kError;
  EXPECT_EQ(errors, 0);
}

}  // namespace
}  // namespace sonde::testing
