// The stateless pieces: message structure checks, startup packets, command
// tags, error fields and the statement splitter.
#include "decoders/postgres/pg_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace sonde::pg {
namespace {

using namespace sonde::test::wire;  // NOLINT: builders read like the protocol

const char* Name(Check c) {
  switch (c) {
    case Check::kNo: return "no";
    case Check::kNeedMore: return "more";
    case Check::kYes: return "yes";
  }
  return "?";
}

struct CheckCase {
  const char* what;
  Side side;
  std::string bytes;
  Check expected;
};

TEST(PgParser, CheckMessages) {
  const std::string q = Query("SELECT * FROM users WHERE id = 42");
  const std::string long_q = Query("SELECT '" + std::string(2000, 'a') + "'");
  const std::string long_p = Parse("s1", "SELECT '" + std::string(2000, 'a') + "'");
  const std::vector<CheckCase> cases = {
      {"query", Side::kFrontend, q, Check::kYes},
      {"query prefix of 4", Side::kFrontend, q.substr(0, 4), Check::kNeedMore},
      {"query short text", Side::kFrontend, q.substr(0, 12), Check::kNeedMore},
      // A message that fits the check window is judged whole, a longer one on its start.
      {"query cut", Side::kFrontend, q.substr(0, 5 + 32), Check::kNeedMore},
      {"long query start", Side::kFrontend, long_q.substr(0, 5 + 64), Check::kYes},
      {"long query start cut", Side::kFrontend, long_q.substr(0, 5 + 63), Check::kNeedMore},
      {"long query bad start", Side::kFrontend, long_q.substr(0, 20) + '\x01', Check::kNo},
      {"long parse start", Side::kFrontend, long_p.substr(0, 5 + 64), Check::kYes},
      {"query with control byte", Side::kFrontend, Query("SELECT \x01"), Check::kNo},
      {"query without NUL", Side::kFrontend, Msg('Q', "SELECT 1"), Check::kNo},
      {"query seen as backend", Side::kBackend, q, Check::kNo},
      {"parse bind execute sync", Side::kFrontend,
       Parse("", "SELECT $1") + Bind("", "", {"1"}) + Execute() + Sync(), Check::kYes},
      {"bind with bad format", Side::kFrontend, Msg('B', std::string("\0\0", 2) + U16(1) + U16(7) + U16(0) + U16(0)),
       Check::kNo},
      {"sync alone is weak", Side::kFrontend, Sync(), Check::kNeedMore},
      {"three syncs", Side::kFrontend, Sync() + Sync() + Sync(), Check::kYes},
      {"sync with a body", Side::kFrontend, Msg('S', "x"), Check::kNo},
      {"copy data is weak", Side::kFrontend, CopyData("1\tone\n"), Check::kNeedMore},
      {"command complete + ready", Side::kBackend, Complete("SELECT 1") + Ready(), Check::kYes},
      {"lower-case tag", Side::kBackend, Complete("select 1"), Check::kNo},
      {"ready with bad status", Side::kBackend, Ready('X'), Check::kNo},
      {"ready too long", Side::kBackend, Msg('Z', "II"), Check::kNo},
      {"row description + rows", Side::kBackend,
       RowDescription({"id", "name"}) + DataRow({"1", "one"}) + DataRow({"2", "two"}), Check::kYes},
      {"data row wrong length", Side::kBackend, Msg('D', U16(1) + U32(5) + "abc"), Check::kNo},
      {"long data row prefix", Side::kBackend,
       DataRow({std::string(5000, 'x')}).substr(0, 200), Check::kYes},
      {"data row column past the body", Side::kBackend,
       (Msg('D', U16(1) + U32(100000) + std::string(200, 'x'))).substr(0, 100), Check::kNo},
      {"error response", Side::kBackend, Error("42P01", "relation does not exist"), Check::kYes},
      {"error field not a letter", Side::kBackend, Msg('E', std::string("1x\0\0", 4)), Check::kNo},
      {"auth ok", Side::kBackend, AuthOk(), Check::kYes},
      {"auth md5", Side::kBackend, Msg('R', U32(5) + "salt"), Check::kYes},
      {"auth unknown code", Side::kBackend, Msg('R', U32(99)), Check::kNo},
      {"sasl mechanisms", Side::kBackend, Msg('R', U32(10) + std::string("SCRAM-SHA-256\0\0", 15)),
       Check::kYes},
      {"parameter status", Side::kBackend, ParameterStatus("TimeZone", "UTC"), Check::kYes},
      {"parse complete alone", Side::kBackend, ParseComplete(), Check::kNeedMore},
      {"http request", Side::kFrontend, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", Check::kNo},
      {"http response", Side::kBackend, "HTTP/1.1 200 OK\r\n\r\n", Check::kNo},
      {"redis array", Side::kFrontend, "*1\r\n$4\r\nPING\r\n", Check::kNo},
      {"redis inline", Side::kFrontend, "SET k v\r\n", Check::kNo},
      {"redis reply", Side::kBackend, "+OK\r\n", Check::kNo},
      {"tls record", Side::kFrontend, std::string("\x16\x03\x01\x00\xa5\x01", 6), Check::kNo},
      {"length too large", Side::kFrontend, std::string("Q\x40\0\0\0", 5), Check::kNo},
      {"length below 4", Side::kBackend, std::string("Z\0\0\0\x03", 5), Check::kNo},
  };
  for (const CheckCase& c : cases) {
    EXPECT_STREQ(Name(CheckMessages(c.side, c.bytes)), Name(c.expected)) << c.what;
  }
}

TEST(PgParser, CheckStartupPacket) {
  const std::string startup = Startup({{"user", "alice"}, {"database", "shop"}});
  EXPECT_EQ(CheckStartupPacket(startup), Check::kYes);
  // The header and the first parameter bytes are needed.
  EXPECT_EQ(CheckStartupPacket(startup.substr(0, 8)), Check::kNeedMore);
  for (size_t n = 1; n < 8; ++n) {
    EXPECT_EQ(CheckStartupPacket(startup.substr(0, n)), Check::kNeedMore) << n;
  }
  EXPECT_EQ(CheckStartupPacket(SslRequest()), Check::kYes);
  EXPECT_EQ(CheckStartupPacket(GssEncRequest()), Check::kYes);
  EXPECT_EQ(CheckStartupPacket(CancelRequest(1, 2)), Check::kYes);
  // Wrong length for the request code, unknown codes, protocol 2.
  EXPECT_EQ(CheckStartupPacket(U32(12) + U32(80877103) + U32(0)), Check::kNo);
  EXPECT_EQ(CheckStartupPacket(U32(8) + U32(12345678)), Check::kNo);
  EXPECT_EQ(CheckStartupPacket(U32(40) + U32(0x00020000)), Check::kNo);
  EXPECT_EQ(CheckStartupPacket(U32(20000) + U32(196608)), Check::kNo);
  // A whole StartupMessage must be well formed.
  EXPECT_EQ(CheckStartupPacket(U32(14) + U32(196608) + std::string("user\0x", 6)), Check::kNo);
  EXPECT_EQ(CheckStartupPacket(std::string("\0\x80", 2)), Check::kNo);
  // A cut StartupMessage is judged on the parameters seen so far; a Kafka
  // request header (length, api key 3, version 1, correlation id) is not one.
  const std::string long_startup = Startup({{"user", "alice"}, {"options", std::string(200, 'o')}});
  EXPECT_EQ(CheckStartupPacket(long_startup.substr(0, 8 + 63)), Check::kNeedMore);
  EXPECT_EQ(CheckStartupPacket(long_startup.substr(0, 8 + 64)), Check::kYes);
  EXPECT_EQ(CheckStartupPacket(U32(60) + U32(0x00030001) + U32(1) + std::string("\x00\x07" "client", 8)),
            Check::kNo);
  EXPECT_EQ(CheckStartupPacket(U32(60) + U32(196608) + "us\x01r"), Check::kNo);
  EXPECT_EQ(CheckStartupPacket("GET"), Check::kNo);
}

TEST(PgParser, StartupParams) {
  std::string s = Startup({{"user", "alice"}, {"database", "shop"}, {"application_name", "api"},
                           {"client_encoding", "UTF8"}});
  StartupParams p;
  ASSERT_TRUE(ParseStartupParams(std::string_view(s).substr(8), &p));
  EXPECT_EQ(p.user, "alice");
  EXPECT_EQ(p.database, "shop");
  EXPECT_EQ(p.application_name, "api");
  StartupParams cut;
  EXPECT_FALSE(ParseStartupParams(std::string_view(s).substr(8, 20), &cut));
  StartupParams big;
  std::string b = Startup({{"user", std::string(1000, 'u')}});
  ASSERT_TRUE(ParseStartupParams(std::string_view(b).substr(8), &big));
  EXPECT_EQ(big.user.size(), kMaxParamValue);
}

TEST(PgParser, CommandTags) {
  struct T {
    const char* body;
    const char* tag;
    int64_t rows;
  };
  const T cases[] = {
      {"SELECT 3", "SELECT 3", 3},        {"INSERT 0 1", "INSERT 0 1", 1},
      {"UPDATE 2", "UPDATE 2", 2},        {"DELETE 0", "DELETE 0", 0},
      {"COPY 5", "COPY 5", 5},            {"FETCH 100", "FETCH 100", 100},
      {"MERGE 4", "MERGE 4", 4},          {"CREATE TABLE", "CREATE TABLE", -1},
      {"BEGIN", "BEGIN", -1},             {"SELECT 9999999999999999999", "SELECT 9999999999999999999", -1},
  };
  for (const T& c : cases) {
    std::string tag;
    int64_t rows = 0;
    ASSERT_TRUE(ParseCommandTag(std::string(c.body) + '\0', &tag, &rows)) << c.body;
    EXPECT_EQ(tag, c.tag);
    EXPECT_EQ(rows, c.rows) << c.body;
  }
  std::string tag;
  int64_t rows;
  EXPECT_FALSE(ParseCommandTag("SELECT 1", &tag, &rows));  // no NUL
  EXPECT_FALSE(ParseCommandTag(std::string(1, '\0'), &tag, &rows));
}

TEST(PgParser, ErrorFields) {
  std::string body = Error("23505", "duplicate key", "ERROR").substr(5);
  PgError e;
  ASSERT_TRUE(ParseErrorFields(body, &e));
  EXPECT_EQ(e.severity, "ERROR");
  EXPECT_EQ(e.sqlstate, "23505");
  EXPECT_EQ(e.message, "duplicate key");
  // A localized severity ('S') without the 'V' field, and a body cut in the message.
  PgError f;
  ASSERT_TRUE(ParseErrorFields(std::string("SFEHLER\0C42P01\0Mrelation fe", 27), &f));
  EXPECT_EQ(f.severity, "FEHLER");
  EXPECT_EQ(f.sqlstate, "42P01");
  EXPECT_EQ(f.message, "");
  PgError g;
  EXPECT_FALSE(ParseErrorFields("", &g));
  PgError h;
  ASSERT_TRUE(ParseErrorFields("M" + std::string(2000, 'm') + '\0' + '\0', &h));
  EXPECT_EQ(h.message.size(), kMaxErrorMessage);
}

TEST(PgParser, ExtendedBodies) {
  std::string_view name, query, portal, statement;
  std::string p = Parse("s1", "SELECT 1").substr(5);
  ASSERT_TRUE(ParseParse(p, true, &name, &query));
  EXPECT_EQ(name, "s1");
  EXPECT_EQ(query, "SELECT 1");
  // Cut inside the text: what was seen.
  ASSERT_TRUE(ParseParse(std::string_view(p).substr(0, 7), false, &name, &query));
  EXPECT_EQ(query, "SELE");
  EXPECT_FALSE(ParseParse(std::string_view(p).substr(0, 7), true, &name, &query));
  std::string b = Bind("portal", "stmt", {"x"}).substr(5);
  ASSERT_TRUE(ParseBind(b, &portal, &statement));
  EXPECT_EQ(portal, "portal");
  EXPECT_EQ(statement, "stmt");
  ASSERT_TRUE(ParseExecute(Execute("c1", 10).substr(5), &portal));
  EXPECT_EQ(portal, "c1");
  char kind = 0;
  ASSERT_TRUE(ParseTarget(Close('S', "s1").substr(5), &kind, &name));
  EXPECT_EQ(kind, 'S');
  EXPECT_EQ(name, "s1");
  EXPECT_FALSE(ParseTarget(std::string("X\0", 2), &kind, &name));
}

TEST(PgParser, SplitStatements) {
  struct T {
    std::string text;
    std::vector<std::string> parts;
  };
  const std::vector<T> cases = {
      {"SELECT 1", {"SELECT 1"}},
      {"SELECT 1; SELECT 2;", {"SELECT 1", "SELECT 2"}},
      {"  BEGIN ;\n INSERT INTO t VALUES (1);; COMMIT", {"BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"}},
      {"SELECT ';' AS a; SELECT 'it''s;' ", {"SELECT ';' AS a", "SELECT 'it''s;'"}},
      {"SELECT E'\\';' ; SELECT 2", {"SELECT E'\\';'", "SELECT 2"}},
      {"SELECT \"a;b\" FROM t; SELECT 2", {"SELECT \"a;b\" FROM t", "SELECT 2"}},
      {"DO $$BEGIN PERFORM 1; END$$; SELECT 2", {"DO $$BEGIN PERFORM 1; END$$", "SELECT 2"}},
      {"DO $f$ a; $$ b; $f$; SELECT 2", {"DO $f$ a; $$ b; $f$", "SELECT 2"}},
      {"SELECT $1; SELECT a$b;", {"SELECT $1", "SELECT a$b"}},
      {"SELECT 1 -- one; not two\n; SELECT 2", {"SELECT 1 -- one; not two", "SELECT 2"}},
      {"/* a; /* nested; */ still; */ SELECT 1; SELECT 2", {"/* a; /* nested; */ still; */ SELECT 1", "SELECT 2"}},
      {"-- only a comment", {}},
      {" ; ; ", {}},
      {"SELECT 'unterminated; SELECT 2", {"SELECT 'unterminated; SELECT 2"}},
  };
  for (const T& c : cases) {
    bool more = true;
    std::vector<std::string_view> got = SplitStatements(c.text, 64, &more);
    EXPECT_FALSE(more);
    EXPECT_EQ(std::vector<std::string>(got.begin(), got.end()), c.parts) << c.text;
  }
  bool more = false;
  EXPECT_EQ(SplitStatements("A;B;C;D", 2, &more).size(), 2u);
  EXPECT_TRUE(more);
}

}  // namespace
}  // namespace sonde::pg
