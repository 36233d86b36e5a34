// PostgreSQL exchanges to spans: exact names, attributes and status, through
// the SpanBuilder dispatch the agent uses.
#include "spans/postgres_span.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "spans/span_builder.h"
#include "test_util.h"

namespace sonde {
namespace {

constexpr int64_t kOffset = 1'700'000'000'000'000'000;

using AttrMap = std::map<std::string, std::string>;

// Attributes as a printable map: int 7 -> "i:7", bool -> "b:true", string as is.
AttrMap AsMap(const Attributes& attrs) {
  AttrMap out;
  for (const auto& a : attrs) {
    std::string v;
    if (auto* s = std::get_if<std::string>(&a.value)) v = *s;
    if (auto* i = std::get_if<int64_t>(&a.value)) v = "i:" + std::to_string(*i);
    if (auto* b = std::get_if<bool>(&a.value)) v = *b ? "b:true" : "b:false";
    if (auto* d = std::get_if<double>(&a.value)) v = "d:" + std::to_string(*d);
    EXPECT_EQ(out.count(a.key), 0u) << "duplicate attribute " << a.key;
    out[a.key] = v;
  }
  return out;
}

ConnInfo ClientConn() {
  ConnInfo c;
  c.role = Role::kClient;
  c.local_addr = "10.0.0.5";
  c.local_port = 40000;
  c.peer_addr = "10.0.0.9";
  c.peer_port = 5432;
  return c;
}

PgExchange Select() {
  PgExchange x;
  x.query_text = "SELECT id, name FROM users WHERE email = 'a@b.c' AND age > 30";
  x.command_tag = "SELECT 2";
  x.rows = 2;
  x.data_rows = 2;
  x.response_seen = true;
  x.database = "shop";
  x.user = "alice";
  x.application_name = "api";
  x.start_ns = 1000;
  x.end_ns = 4000;
  return x;
}

// The attributes every client span on ClientConn() has.
AttrMap ClientBase() {
  return {
      {"db.system.name", "postgresql"},  {"server.address", "10.0.0.9"},
      {"server.port", "i:5432"},         {"network.peer.address", "10.0.0.9"},
      {"network.peer.port", "i:5432"},   {"sonde.parent.source", "none"},
      {"db.namespace", "shop"},
  };
}

AttrMap With(AttrMap base, const AttrMap& more) {
  for (const auto& [k, v] : more) base[k] = v;
  return base;
}

class PgSpanTest : public ::testing::Test {
 protected:
  Span Build(const PgExchange& x, ConnInfo conn = ClientConn(), DbSpanOptions opts = {}) {
    SpanOptions so;
    so.db = opts;
    SpanBuilder b(so, &ids_, kOffset);
    Message m;
    m.conn = std::move(conn);
    m.payload = x;
    return b.Build(m, resource_);
  }

  IdGenerator ids_{7};
  std::shared_ptr<const Resource> resource_ = std::make_shared<Resource>();
};

TEST_F(PgSpanTest, SelectFromOneTable) {
  Span s = Build(Select());
  EXPECT_EQ(s.name, "SELECT users");
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(s.start_unix_ns, static_cast<uint64_t>(kOffset + 1000));
  EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 4000));
  EXPECT_EQ(s.resource, resource_);
  EXPECT_EQ(AsMap(s.attributes),
            With(ClientBase(), {{"db.operation.name", "SELECT"},
                                {"db.collection.name", "users"},
                                {"db.query.text", "SELECT id, name FROM users WHERE email = ? AND age > ?"},
                                {"db.response.returned_rows", "i:2"}}));
}

TEST_F(PgSpanTest, RawQueryTextWhenSanitizingIsOff) {
  DbSpanOptions opts;
  opts.sanitize_query = false;
  Span s = Build(Select(), ClientConn(), opts);
  EXPECT_EQ(AsMap(s.attributes)["db.query.text"], Select().query_text);
}

TEST_F(PgSpanTest, ErrorsCarryTheSqlstate) {
  PgExchange x = Select();
  x.query_text = "SELECT * FROM missing WHERE id = 7";
  x.command_tag.clear();
  x.rows = -1;
  x.data_rows = 0;
  x.error = PgError{"ERROR", "42P01", "relation \"missing\" does not exist"};
  Span s = Build(x);
  EXPECT_EQ(s.name, "SELECT missing");
  EXPECT_EQ(s.status, StatusCode::kError);
  EXPECT_EQ(s.status_message, "");  // messages may quote values: kept out when sanitizing
  EXPECT_EQ(AsMap(s.attributes),
            With(ClientBase(), {{"db.operation.name", "SELECT"},
                                {"db.collection.name", "missing"},
                                {"db.query.text", "SELECT * FROM missing WHERE id = ?"},
                                {"db.response.status_code", "42P01"},
                                {"error.type", "42P01"}}));
  DbSpanOptions raw;
  raw.sanitize_query = false;
  EXPECT_EQ(Build(x, ClientConn(), raw).status_message, "relation \"missing\" does not exist");
}

TEST_F(PgSpanTest, WarningClassIsNotAFailure) {
  PgExchange x = Select();
  x.error = PgError{"WARNING", "01000", "just a warning"};
  Span s = Build(x);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a["db.response.status_code"], "01000");
  EXPECT_EQ(a.count("error.type"), 0u);
  // Class 02 (no data) and beyond are failures.
  x.error->sqlstate = "02000";
  EXPECT_EQ(Build(x).status, StatusCode::kError);
  x.error->sqlstate = "";
  EXPECT_EQ(AsMap(Build(x).attributes)["error.type"], "_OTHER");
}

TEST_F(PgSpanTest, UnknownTextUsesTheCommandTag) {
  PgExchange x = Select();
  x.query_text.clear();
  x.text_known = false;
  x.statement_name = "stmt_7";
  x.extended = true;
  Span s = Build(x);
  EXPECT_EQ(s.name, "SELECT");
  EXPECT_EQ(AsMap(s.attributes),
            With(ClientBase(), {{"db.operation.name", "SELECT"},
                                {"sonde.db.query_text_unknown", "b:true"},
                                {"db.response.returned_rows", "i:2"}}));
}

TEST_F(PgSpanTest, MissingResponse) {
  PgExchange x = Select();
  x.response_seen = false;
  x.command_tag.clear();
  x.rows = -1;
  x.data_rows = 0;
  Span s = Build(x);
  EXPECT_EQ(s.name, "SELECT users");
  EXPECT_EQ(s.status, StatusCode::kError);
  EXPECT_EQ(AsMap(s.attributes),
            With(ClientBase(), {{"db.operation.name", "SELECT"},
                                {"db.collection.name", "users"},
                                {"db.query.text", "SELECT id, name FROM users WHERE email = ? AND age > ?"},
                                {"error.type", "response_missing"}}));
}

TEST_F(PgSpanTest, NothingKnownFallsBackToTheSystemName) {
  PgExchange x;
  x.text_known = false;
  x.response_seen = false;
  Span s = Build(x);
  EXPECT_EQ(s.name, "postgresql");
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.count("db.namespace"), 0u);
  EXPECT_EQ(a.count("db.operation.name"), 0u);
  EXPECT_EQ(a["sonde.db.query_text_unknown"], "b:true");
}

TEST_F(PgSpanTest, OperationFromTheTagWithoutCounts) {
  struct T {
    const char* text;
    const char* tag;
    int64_t rows;
    int64_t data_rows;
    const char* name;
    const char* returned;  // "" when absent
  };
  const T cases[] = {
      {"INSERT INTO items VALUES (1)", "INSERT 0 1", 1, 0, "INSERT items", ""},
      {"INSERT INTO items VALUES (1) RETURNING id", "INSERT 0 1", 1, 1, "INSERT items", "i:1"},
      {"UPDATE items SET a = 1", "UPDATE 5", 5, 0, "UPDATE items", ""},
      {"DELETE FROM items WHERE id = 2", "DELETE 1", 1, 0, "DELETE items", ""},
      {"CREATE TABLE t (id int)", "CREATE TABLE", -1, 0, "CREATE TABLE", ""},
      {"FETCH FORWARD 2 FROM c", "FETCH 2", 2, 2, "FETCH", "i:2"},
      {"FETCH FORWARD 2 FROM c", "FETCH 0", 0, 0, "FETCH", "i:0"},
      {"COPY items TO STDOUT", "COPY 4", 4, 0, "COPY", ""},
      {"begin", "BEGIN", -1, 0, "BEGIN", ""},
      {"SELECT * FROM a JOIN b ON a.x = b.x", "SELECT 3", 3, 3, "SELECT", "i:3"},
      {"", "", -1, 0, "postgresql", ""},
      {"-- only a comment", "", -1, 0, "postgresql", ""},
  };
  for (const T& c : cases) {
    PgExchange x = Select();
    x.query_text = c.text;
    x.command_tag = c.tag;
    x.rows = c.rows;
    x.data_rows = c.data_rows;
    Span s = Build(x);
    EXPECT_EQ(s.name, c.name) << c.text;
    AttrMap a = AsMap(s.attributes);
    EXPECT_EQ(a.count("db.response.returned_rows") ? a["db.response.returned_rows"] : "", c.returned)
        << c.text;
  }
}

TEST_F(PgSpanTest, PortalSuspendedCountsTheRowsReturned) {
  PgExchange x = Select();
  x.extended = true;
  x.command_tag.clear();
  x.rows = -1;
  x.data_rows = 100;
  x.portal_suspended = true;
  Span s = Build(x);
  EXPECT_EQ(s.name, "SELECT users");
  EXPECT_EQ(AsMap(s.attributes)["db.response.returned_rows"], "i:100");
}

TEST_F(PgSpanTest, TruncatedTextKeepsOnlySafeFacts) {
  PgExchange x = Select();
  x.query_text = "INSERT INTO notes (body) VALUES ('very long secret";
  x.query_truncated = true;
  x.command_tag = "INSERT 0 1";
  x.rows = 1;
  x.data_rows = 0;
  Span s = Build(x);
  EXPECT_EQ(s.name, "INSERT notes");
  EXPECT_EQ(AsMap(s.attributes)["db.query.text"], "INSERT INTO notes (body) VALUES (?");
  x.query_text = "SELECT * FROM notes WHERE body = 'x' AND id IN (SELECT";
  x.command_tag = "SELECT 1";
  EXPECT_EQ(Build(x).name, "SELECT");
}

TEST_F(PgSpanTest, ServerSide) {
  ConnInfo c;
  c.role = Role::kServer;
  c.role_inferred = true;
  c.local_addr = "10.0.0.9";
  c.local_port = 5432;
  c.peer_addr = "10.0.0.5";
  c.peer_port = 40000;
  Span s = Build(Select(), c);
  EXPECT_EQ(s.kind, SpanKind::kServer);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a["server.address"], "10.0.0.9");
  EXPECT_EQ(a["server.port"], "i:5432");
  EXPECT_EQ(a["client.address"], "10.0.0.5");
  EXPECT_EQ(a["network.peer.port"], "i:40000");
  EXPECT_EQ(a["sonde.connection.role_inferred"], "b:true");
}

TEST_F(PgSpanTest, SpansOfARecordedPsqlSession) {
  std::vector<Message> msgs = test::DecodeCapture(test::ReadCapture("psql_session.fe"),
                                                  test::ReadCapture("psql_session.be"));
  std::string names;
  for (const Message& m : msgs) {
    Span s = Build(std::get<PgExchange>(m.payload), m.conn);
    names += s.name + (s.status == StatusCode::kError ? " !" : "") + "\n";
    EXPECT_EQ(AsMap(s.attributes)["db.namespace"], "sondetest");
  }
  EXPECT_EQ(names,
            "CREATE TABLE\n"
            "INSERT items\n"
            "SELECT items\n"
            "UPDATE items\n"
            "DELETE items\n"
            "BEGIN\n"
            "INSERT items\n"
            "COMMIT\n"
            "SELECT missing_table !\n"
            "SELEC !\n"
            "INSERT items !\n"
            "DROP TABLE\n"
            "DO\n"
            "SELECT\n"
            "SELECT\n"
            "SELECT\n"
            "SELECT\n"
            "SELECT missing_table !\n"
            "COPY\n"
            "COPY\n"
            "SELECT\n"
            "DROP TABLE\n");
  Span insert = Build(std::get<PgExchange>(msgs[1].payload), msgs[1].conn);
  EXPECT_EQ(AsMap(insert.attributes)["db.query.text"], "INSERT INTO items VALUES (?, ?, ?), (?, ?, ?)");
  Span dup = Build(std::get<PgExchange>(msgs[10].payload), msgs[10].conn);
  EXPECT_EQ(AsMap(dup.attributes)["error.type"], "23505");
}

}  // namespace
}  // namespace sonde
