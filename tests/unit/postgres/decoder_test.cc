// The decoder on hand-built conversations: startup and encryption requests,
// simple and extended queries, pipelines, errors, COPY, pairing rules,
// timing, role inference and memory bounds.
#include "decoders/postgres/pg_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace sonde::test {
namespace {

using namespace wire;  // NOLINT: builders read like the protocol

Feeder Connected(Role role = Role::kClient, DecoderLimits limits = {}) {
  Feeder f(role, limits);
  f.Fe(Startup({{"user", "alice"}, {"database", "shop"}, {"application_name", "api"}}));
  f.Be(Welcome());
  return f;
}

TEST(PgDecoder, SimpleQueryWithStartupParameters) {
  Feeder f = Connected();
  f.Fe(Query("SELECT id FROM users"));
  f.Be(RowDescription({"id"}) + DataRow({"1"}) + DataRow({"2"}) + Complete("SELECT 2") + Ready());
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(Dump(m), "Q \"SELECT id FROM users\" -> \"SELECT 2\" rows=2 data=2\n");
  const PgExchange& x = Ex(m[0]);
  EXPECT_EQ(x.database, "shop");
  EXPECT_EQ(x.user, "alice");
  EXPECT_EQ(x.application_name, "api");
  EXPECT_EQ(m[0].conn.role, Role::kClient);
  EXPECT_FALSE(m[0].conn.role_inferred);
}

TEST(PgDecoder, DatabaseDefaultsToTheUserName) {
  Feeder f(Role::kServer);
  f.Fe(Startup({{"user", "bob"}}));
  f.Be(Welcome());
  f.Fe(Query("SELECT 1"));
  f.Be(Complete("SELECT 1") + Ready());
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).database, "bob");
  EXPECT_EQ(m[0].conn.role, Role::kServer);
}

TEST(PgDecoder, SslRequestAnsweredNoGoesOnInPlainText) {
  Feeder f(Role::kClient);
  f.Fe(SslRequest());
  f.Be("N");
  f.Fe(Startup({{"user", "alice"}, {"database", "shop"}}));
  f.Be(Welcome());
  f.Fe(Query("SELECT 1"));
  f.Be(Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()), "Q \"SELECT 1\" -> \"SELECT 1\" rows=1\n");
  EXPECT_FALSE(f.decoder().encrypted());
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(PgDecoder, GssRefusedThenSslRefused) {
  Feeder f(Role::kServer);
  f.Fe(GssEncRequest());
  f.Be("N");
  f.Fe(SslRequest());
  f.Be("N");
  f.Fe(Startup({{"user", "alice"}}));
  f.Be(Welcome());
  f.Fe(Query("SELECT 1"));
  f.Be(Complete("SELECT 1") + Ready());
  EXPECT_EQ(f.Drain().size(), 1u);
  EXPECT_FALSE(f.decoder().encrypted());
}

TEST(PgDecoder, SslAcceptedStopsDecodingAndCountsTheBytes) {
  Feeder f(Role::kClient);
  f.Fe(SslRequest());
  f.Be("S");
  EXPECT_TRUE(f.decoder().encrypted());
  const std::string hello("\x16\x03\x01\x00\x05hello", 10);
  f.Fe(hello);
  f.Be(std::string("\x16\x03\x03\x00\x02hi", 7));
  f.Fe(Query("SELECT 1"));  // would be inside TLS records; never decoded
  f.Close();
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_EQ(f.counters().bytes_skipped, hello.size() + 7 + Query("SELECT 1").size());
  EXPECT_EQ(f.decoder().buffered_bytes(), 0u);
}

TEST(PgDecoder, GssAcceptedStopsDecoding) {
  Feeder f(Role::kServer);
  f.Fe(GssEncRequest());
  f.Be("G");
  EXPECT_TRUE(f.decoder().encrypted());
}

TEST(PgDecoder, TlsHandshakeSeenBeforeTheAnswerStopsDecoding) {
  Feeder f(Role::kClient);
  f.Fe(SslRequest());
  f.Fe(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  EXPECT_TRUE(f.decoder().encrypted());
  f.Be("S");
  f.Close();
  EXPECT_TRUE(f.Drain().empty());
}

TEST(PgDecoder, CancelRequestGivesNoExchange) {
  Feeder f(Role::kServer);
  f.Fe(CancelRequest(4242, 99));
  f.Close();
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_TRUE(f.decoder().cancel_request());
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(PgDecoder, AuthenticationIsSkippedAndFailuresGiveNoExchange) {
  Feeder f(Role::kClient);
  f.Fe(Startup({{"user", "alice"}}));
  f.Be(Msg('R', U32(3)));  // cleartext password requested
  f.Fe(Password("hunter2"));
  f.Be(Error("28P01", "password authentication failed for user \"alice\"", "FATAL"));
  f.Close();
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(PgDecoder, ExtendedUnnamedStatement) {
  Feeder f = Connected();
  f.Fe(Parse("", "SELECT name FROM users WHERE id = $1") + Bind("", "", {"7"}) + Describe('P', "") +
       Execute() + Sync());
  f.Be(ParseComplete() + BindComplete() + RowDescription({"name"}) + DataRow({"ann"}) +
       Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "X \"SELECT name FROM users WHERE id = $1\" -> \"SELECT 1\" rows=1 data=1\n");
}

TEST(PgDecoder, NamedStatementsAreRememberedUntilClosed) {
  Feeder f = Connected();
  f.Fe(Parse("s1", "UPDATE t SET n = n + 1") + Sync());
  f.Be(ParseComplete() + Ready());
  for (int i = 0; i < 2; ++i) {
    f.Fe(Bind("", "s1") + Execute() + Sync());
    f.Be(BindComplete() + Complete("UPDATE 3") + Ready());
  }
  EXPECT_EQ(f.decoder().prepared_statements(), 1u);
  f.Fe(Close('S', "s1") + Sync());
  f.Be(CloseComplete() + Ready());
  EXPECT_EQ(f.decoder().prepared_statements(), 0u);
  f.Fe(Bind("", "s1") + Execute() + Sync());
  f.Be(Error("26000", "prepared statement \"s1\" does not exist") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "X[s1] \"UPDATE t SET n = n + 1\" -> \"UPDATE 3\" rows=3\n"
            "X[s1] \"UPDATE t SET n = n + 1\" -> \"UPDATE 3\" rows=3\n"
            "X[s1] ? -> ERROR 26000 prepared statement \"s1\" does not exist\n");
}

TEST(PgDecoder, StatementPreparedBeforeSondeHasUnknownText) {
  // A connection picked up mid-way: the first thing seen is a Bind.
  Feeder f(Role::kClient);
  f.Fe(Bind("", "stmt_7", {"1"}) + Execute() + Sync());
  f.Be(BindComplete() + DataRow({"x"}) + Complete("SELECT 1") + Ready());
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(Dump(m), "X[stmt_7] ? -> \"SELECT 1\" rows=1 data=1\n");
  EXPECT_FALSE(Ex(m[0]).text_known);
  EXPECT_EQ(Ex(m[0]).database, "");
}

TEST(PgDecoder, PortalSuspendedAndResumed) {
  Feeder f = Connected();
  f.Fe(Parse("", "SELECT * FROM big") + Bind("c1", "") + Execute("c1", 2) + Sync());
  f.Be(ParseComplete() + BindComplete() + DataRow({"1"}) + DataRow({"2"}) + Suspended() + Ready('T'));
  f.Fe(Execute("c1", 2) + Sync());
  f.Be(DataRow({"3"}) + Complete("SELECT 1") + Ready('T'));
  f.Fe(Close('P', "c1") + Sync());
  f.Be(CloseComplete() + Ready('T'));
  f.Fe(Execute("c1") + Sync());
  f.Be(Error("34000", "portal \"c1\" does not exist") + Ready('E'));
  EXPECT_EQ(Dump(f.Drain()),
            "X \"SELECT * FROM big\" -> \"\" suspended data=2\n"
            "X \"SELECT * FROM big\" -> \"SELECT 1\" rows=1 data=1\n"
            "X ? -> ERROR 34000 portal \"c1\" does not exist\n");
}

TEST(PgDecoder, PipelineErrorSkipsTheRestOfItsBatchOnly) {
  Feeder f = Connected();
  f.Fe(Parse("", "INSERT INTO a VALUES (1)") + Bind("", "") + Execute() +
       Parse("", "INSERT INTO a VALUES (1)") + Bind("", "") + Execute() +
       Parse("", "SELECT 1") + Bind("", "") + Execute() + Sync() +
       Parse("", "SELECT 2") + Bind("", "") + Execute() + Sync());
  f.Be(ParseComplete() + BindComplete() + Complete("INSERT 0 1") + ParseComplete() + BindComplete() +
       Error("23505", "duplicate key") + Ready('I') + ParseComplete() + BindComplete() +
       DataRow({"2"}) + Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "X \"INSERT INTO a VALUES (1)\" -> \"INSERT 0 1\" rows=1\n"
            "X \"INSERT INTO a VALUES (1)\" -> ERROR 23505 duplicate key\n"
            "X \"SELECT 2\" -> \"SELECT 1\" rows=1 data=1\n");
  EXPECT_EQ(f.decoder().pending_statements(), 0u);
}

TEST(PgDecoder, ExecutesAfterAnErrorBeforeTheSyncAreNotQueued) {
  Feeder f = Connected();
  f.Fe(Parse("", "SELEC") + Bind("", "") + Execute());
  f.Be(Error("42601", "syntax error"));
  f.Fe(Parse("", "SELECT 2") + Bind("", "") + Execute() + Sync());
  f.Be(Ready());
  EXPECT_EQ(Dump(f.Drain()), "X \"SELEC\" -> ERROR 42601 syntax error\n");
  EXPECT_EQ(f.decoder().pending_statements(), 0u);
}

TEST(PgDecoder, MultiStatementQueryGivesOneExchangePerStatement) {
  Feeder f = Connected();
  f.Fe(Query("BEGIN; UPDATE t SET a = 1; SELECT * FROM nope; COMMIT"));
  f.Be(Complete("BEGIN") + Complete("UPDATE 4") + Error("42P01", "relation \"nope\" does not exist") +
       Ready('E'));
  EXPECT_EQ(Dump(f.Drain()),
            "Q \"BEGIN\" -> \"BEGIN\"\n"
            "Q \"UPDATE t SET a = 1\" -> \"UPDATE 4\" rows=4\n"
            "Q \"SELECT * FROM nope\" -> ERROR 42P01 relation \"nope\" does not exist\n");
}

TEST(PgDecoder, StatementsOfOneQueryStartWhenThePreviousEnded) {
  Feeder f = Connected();
  f.Send(f.fe_dir(), Query("SELECT 1; SELECT 2"), 5000, 9);
  f.Send(f.be_dir(), Complete("SELECT 1"), 6000);
  f.Send(f.be_dir(), Complete("SELECT 1") + Ready(), 7000);
  EXPECT_EQ(Dump(f.Drain(), true),
            "Q \"SELECT 1\" -> \"SELECT 1\" rows=1 [5000-6000 t9]\n"
            "Q \"SELECT 2\" -> \"SELECT 1\" rows=1 [6000-7000 t9]\n");
}

TEST(PgDecoder, PipelinedExecutesKeepTheTimeTheyWereSent) {
  Feeder f = Connected();
  f.Send(f.fe_dir(), Parse("", "SELECT 1") + Bind("", "") + Execute(), 5000, 3);
  f.Send(f.fe_dir(), Parse("", "SELECT 2") + Bind("", "") + Execute() + Sync(), 5100, 4);
  f.Send(f.be_dir(), ParseComplete() + BindComplete() + Complete("SELECT 1"), 6000);
  f.Send(f.be_dir(), ParseComplete() + BindComplete() + Complete("SELECT 1") + Ready(), 6500);
  EXPECT_EQ(Dump(f.Drain(), true),
            "X \"SELECT 1\" -> \"SELECT 1\" rows=1 [5000-6000 t3]\n"
            "X \"SELECT 2\" -> \"SELECT 1\" rows=1 [5100-6500 t4]\n");
}

TEST(PgDecoder, EmptyQueryAndNotices) {
  Feeder f = Connected();
  f.Fe(Query(""));
  f.Be(EmptyQuery() + Ready());
  f.Fe(Query("DROP TABLE IF EXISTS x"));
  f.Be(Notice("table \"x\" does not exist, skipping") + Complete("DROP TABLE") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "Q \"\" -> \"\"\n"
            "Q \"DROP TABLE IF EXISTS x\" -> \"DROP TABLE\"\n");
}

TEST(PgDecoder, CopyInAndOutCompleteAtCommandComplete) {
  Feeder f = Connected();
  f.Fe(Query("COPY t FROM STDIN"));
  f.Be(CopyInResponse());
  f.Fe(CopyData("1\tone\n") + CopyData(std::string(100000, 'r')) + CopyDone());
  f.Be(Complete("COPY 2") + Ready());
  f.Fe(Query("COPY t TO STDOUT"));
  f.Be(CopyOutResponse() + CopyData("1\tone\n") + CopyData("2\ttwo\n") + CopyDone() +
       Complete("COPY 2") + Ready());
  f.Fe(Query("COPY t FROM STDIN"));
  f.Be(CopyInResponse());
  f.Fe(CopyData("x") + CopyFail("no more"));
  f.Be(Error("57014", "COPY from stdin failed: no more") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "Q \"COPY t FROM STDIN\" -> \"COPY 2\" rows=2\n"
            "Q \"COPY t TO STDOUT\" -> \"COPY 2\" rows=2\n"
            "Q \"COPY t FROM STDIN\" -> ERROR 57014 COPY from stdin failed: no more\n");
  EXPECT_LT(f.decoder().buffered_bytes(), 64u * 1024);
}

TEST(PgDecoder, QueryAfterUnsyncedExtendedMessages) {
  // No Sync before the Query: one ReadyForQuery answers both.
  Feeder f = Connected();
  f.Fe(Parse("", "SELECT 1") + Bind("", "") + Execute() + Query("SELECT 2"));
  f.Be(ParseComplete() + BindComplete() + Complete("SELECT 1") + Complete("SELECT 1") + Ready());
  f.Fe(Query("SELECT 3"));
  f.Be(Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "X \"SELECT 1\" -> \"SELECT 1\" rows=1\n"
            "Q \"SELECT 2\" -> \"SELECT 1\" rows=1\n"
            "Q \"SELECT 3\" -> \"SELECT 1\" rows=1\n");
}

TEST(PgDecoder, FlushThenSync) {
  Feeder f = Connected();
  f.Fe(Parse("q", "SELECT 1") + Describe('S', "q") + Flush());
  f.Be(ParseComplete() + Msg('t', U16(0)) + RowDescription({"x"}));
  f.Fe(Bind("", "q") + Execute() + Sync());
  f.Be(BindComplete() + DataRow({"1"}) + Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()), "X[q] \"SELECT 1\" -> \"SELECT 1\" rows=1 data=1\n");
}

TEST(PgDecoder, FunctionCallKeepsPairingAligned) {
  Feeder f = Connected();
  f.Fe(Msg('F', U32(1598) + U16(0) + U16(0) + U16(0)) + Query("SELECT 1"));
  f.Be(Msg('V', U32(1) + "x") + Ready() + Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()), "Q \"SELECT 1\" -> \"SELECT 1\" rows=1\n");
}

TEST(PgDecoder, UnansweredAtCloseAreReportedWithoutResponse) {
  Feeder f = Connected();
  f.Fe(Query("SELECT pg_sleep(100)"));
  f.Fe(Parse("", "SELECT 2") + Bind("", "") + Execute() + Sync());
  f.Close();
  EXPECT_EQ(Dump(f.Drain()),
            "Q \"SELECT pg_sleep(100)\" -> (none)\n"
            "X \"SELECT 2\" -> (none)\n");
}

TEST(PgDecoder, ResultsWithoutRequestsAreOrphans) {
  Feeder f(Role::kClient);
  f.Be(Complete("SELECT 1") + Ready() + Complete("UPDATE 1") + Ready());
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_EQ(f.counters().orphan_responses, 2u);
}

TEST(PgDecoder, ResultOlderThanTheRequestIsAnOrphan) {
  // The Query for this result was lost; the next Query was sent after it.
  Feeder f = Connected();
  f.Send(f.be_dir(), Complete("SELECT 5") + Ready(), 5000);
  f.Send(f.fe_dir(), Query("SELECT 1"), 6000);
  f.Send(f.be_dir(), Complete("SELECT 1") + Ready(), 7000);
  EXPECT_EQ(Dump(f.Drain()), "Q \"SELECT 1\" -> \"SELECT 1\" rows=1\n");
  EXPECT_EQ(f.counters().orphan_responses, 1u);
}

TEST(PgDecoder, LongQueryTextIsCappedAndMarked) {
  Feeder f = Connected();
  const std::string text = "SELECT '" + std::string(10000, 'a') + "'";
  f.Fe(Query(text));
  f.Be(Complete("SELECT 1") + Ready());
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).query_text, text.substr(0, 4096));
  EXPECT_TRUE(Ex(m[0]).query_truncated);
}

TEST(PgDecoder, ResultsBeyondTheKeptStatementsHaveUnknownText) {
  Feeder f = Connected();
  std::string text;
  std::string results;
  for (int i = 0; i < 70; ++i) {
    text += "SELECT " + std::to_string(i) + ";";
    results += Complete("SELECT 1");
  }
  f.Fe(Query(text));
  f.Be(results + Ready());
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 70u);
  EXPECT_EQ(Ex(m[63]).query_text, "SELECT 63");
  EXPECT_FALSE(Ex(m[64]).text_known);
  EXPECT_FALSE(Ex(m[69]).text_known);
  EXPECT_EQ(Ex(m[69]).command_tag, "SELECT 1");
}

TEST(PgDecoder, PendingStatementsAreBounded) {
  DecoderLimits limits;
  limits.max_pending = 4;
  Feeder f = Connected(Role::kClient, limits);
  for (int i = 0; i < 10; ++i) f.Fe(Query("SELECT " + std::to_string(i)));
  EXPECT_LE(f.decoder().pending_statements(), 4u);
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(Dump({m[0]}), "Q \"SELECT 0\" -> (none)\n");
  EXPECT_GE(f.counters().pending_overflows, 6u);
}

TEST(PgDecoder, PreparedStatementsAreBounded) {
  Feeder f = Connected();
  for (int i = 0; i < 300; ++i) {
    f.Fe(Parse("s" + std::to_string(i), "SELECT " + std::to_string(i)) + Sync());
    f.Be(ParseComplete() + Ready());
  }
  EXPECT_EQ(f.decoder().prepared_statements(), 256u);
  // The oldest were forgotten first.
  f.Fe(Bind("", "s0") + Execute() + Bind("", "s299") + Execute() + Sync());
  f.Be(BindComplete() + Complete("SELECT 1") + BindComplete() + Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "X[s0] ? -> \"SELECT 1\" rows=1\n"
            "X[s299] \"SELECT 299\" -> \"SELECT 1\" rows=1\n");
}

TEST(PgDecoder, LargePreparedTextsAreBoundedInBytes) {
  Feeder f = Connected();
  const std::string big(4000, 'x');
  for (int i = 0; i < 200; ++i) f.Fe(Parse("s" + std::to_string(i), "SELECT '" + big + "'"));
  EXPECT_LT(f.decoder().prepared_statements(), 100u);
  EXPECT_LT(f.decoder().buffered_bytes(), 300u * 1024);
}

TEST(PgDecoder, RoleInferredFromAMidStreamQuery) {
  Feeder f(Role::kUnknown);
  f.Send(Direction::kIngress, Query("SELECT now()"));
  f.Send(Direction::kEgress, DataRow({"x"}) + Complete("SELECT 1") + Ready());
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].conn.role, Role::kServer);
  EXPECT_TRUE(m[0].conn.role_inferred);
}

TEST(PgDecoder, RoleInferredFromBackendMessagesFirst) {
  Feeder f(Role::kUnknown);
  // The traced process receives results first: it is the client.
  f.Send(Direction::kIngress, Complete("SELECT 1") + Ready());
  f.Send(Direction::kEgress, Query("SELECT 2"));
  f.Send(Direction::kIngress, Complete("SELECT 1") + Ready());
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].conn.role, Role::kClient);
  EXPECT_EQ(f.counters().orphan_responses, 1u);
}

TEST(PgDecoder, InferVerdicts) {
  struct T {
    const char* what;
    Direction dir;
    std::string bytes;
    InferVerdict verdict;
    Role role;
  };
  const Direction out = Direction::kEgress, in = Direction::kIngress;
  const std::string startup = Startup({{"user", "u"}});
  const std::vector<T> cases = {
      {"startup sent", out, startup, InferVerdict::kYes, Role::kClient},
      {"startup received", in, startup, InferVerdict::kYes, Role::kServer},
      {"ssl request", out, SslRequest(), InferVerdict::kYes, Role::kClient},
      {"startup prefix", out, startup.substr(0, 3), InferVerdict::kNeedMore, Role::kUnknown},
      {"query sent", out, Query("SELECT 1"), InferVerdict::kYes, Role::kClient},
      {"query prefix", out, Query("SELECT 1").substr(0, 6), InferVerdict::kNeedMore, Role::kUnknown},
      {"results sent", out, Complete("INSERT 0 1") + Ready(), InferVerdict::kYes, Role::kServer},
      {"results received", in, DataRow({"a"}) + Complete("SELECT 1") + Ready(), InferVerdict::kYes,
       Role::kClient},
      // Also a valid Close ('S' + "ELECT 1"), but a Close is weak evidence.
      {"lone tag", in, Complete("SELECT 1"), InferVerdict::kYes, Role::kClient},
      {"lone sync", out, Sync(), InferVerdict::kNeedMore, Role::kUnknown},
      {"http", out, "GET / HTTP/1.1\r\n\r\n", InferVerdict::kNo, Role::kUnknown},
      {"redis", out, "*1\r\n$4\r\nPING\r\n", InferVerdict::kNo, Role::kUnknown},
      {"tls", out, std::string("\x16\x03\x01\x00\xa5\x01\x00", 7), InferVerdict::kNo, Role::kUnknown},
      {"empty", out, "", InferVerdict::kNo, Role::kUnknown},
  };
  for (const T& c : cases) {
    InferResult r = PgDecoder::Infer(c.dir, c.bytes);
    EXPECT_EQ(r.verdict, c.verdict) << c.what;
    EXPECT_EQ(r.role, c.role) << c.what;
  }
}

}  // namespace
}  // namespace sonde::test

namespace sonde::test {
namespace {

using namespace wire;  // NOLINT

// Same-host stitching names an exchange by the position of the message that
// began it and the statement's index in its Query: the same at both ends.
TEST(PgDecoder, ExchangesCarryTheirStreamPositionAtBothEnds) {
  const std::string startup = Startup({{"user", "alice"}, {"database", "shop"}});
  const std::string multi = Query("BEGIN; SELECT 1");
  const std::string parse = Parse("", "SELECT 2"), bind = Bind("", "", {}), exec = Execute();
  for (Role role : {Role::kClient, Role::kServer}) {
    Feeder f(role);
    f.Fe(startup);
    f.Be(Welcome());
    f.Fe(multi);
    f.Be(Complete("BEGIN") + RowDescription({"x"}) + DataRow({"1"}) + Complete("SELECT 1") + Ready('T'));
    f.Fe(parse + bind + exec + Sync());
    f.Be(ParseComplete() + BindComplete() + RowDescription({"x"}) + DataRow({"2"}) + Complete("SELECT 1") +
         Ready('T'));
    std::vector<Message> m = f.Drain();
    ASSERT_EQ(m.size(), 3u) << Dump(m);
    EXPECT_EQ(Ex(m[0]).pos, startup.size());
    EXPECT_EQ(Ex(m[0]).pos_part, 0u);
    EXPECT_EQ(Ex(m[1]).pos, startup.size());
    EXPECT_EQ(Ex(m[1]).pos_part, 1u);
    EXPECT_EQ(Ex(m[2]).pos, startup.size() + multi.size());
    EXPECT_EQ(Ex(m[2]).pos_part, 0u);
  }
}

}  // namespace
}  // namespace sonde::test
