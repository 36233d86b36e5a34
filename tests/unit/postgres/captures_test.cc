// Bytes recorded from real clients talking to a real PostgreSQL 15
// (tests/captures/postgres, see record.sh), decoded whole and then under
// every two-chunk split, one-byte chunks, and capped syscalls.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "test_util.h"

namespace sonde::test {
namespace {

struct Case {
  std::string name;
  std::string user;
  std::string app;
  std::string expected;  // Dump() of the exchanges
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string PgbenchTransaction() {
  return "X[P_0] \"BEGIN;\" -> \"BEGIN\"\n"
         "X[P_1] \"UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;\" -> "
         "\"UPDATE 1\" rows=1\n"
         "X[P_2] \"SELECT abalance FROM pgbench_accounts WHERE aid = $1;\" -> \"SELECT 1\" rows=1 "
         "data=1\n"
         "X[P_3] \"UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2;\" -> "
         "\"UPDATE 1\" rows=1\n"
         "X[P_4] \"UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2;\" -> "
         "\"UPDATE 1\" rows=1\n"
         "X[P_5] \"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, "
         "$4, CURRENT_TIMESTAMP);\" -> \"INSERT 0 1\" rows=1\n"
         "X[P_6] \"END;\" -> \"COMMIT\"\n";
}

std::vector<Case> AllCases() {
  // psycopg2 interpolates parameters itself: a 5000-byte value makes a Query
  // longer than the kept text.
  const std::string long_insert_prefix = "INSERT INTO py_users (email, note) VALUES ('b@example.com', '";
  const std::string long_insert =
      long_insert_prefix + std::string(4096 - long_insert_prefix.size(), 'x');
  std::string pgbench;
  for (int i = 0; i < 5; ++i) pgbench += PgbenchTransaction();
  return {
      {"psql_session", "postgres", "sonde-psql",
       "Q \"CREATE TABLE items (id int PRIMARY KEY, name text, price numeric)\" -> \"CREATE TABLE\"\n"
       "Q \"INSERT INTO items VALUES (1, 'apple', 1.5), (2, 'pear', 2.25)\" -> \"INSERT 0 2\" rows=2\n"
       "Q \"SELECT id, name FROM items WHERE price > 1 ORDER BY id\" -> \"SELECT 2\" rows=2 data=2\n"
       "Q \"UPDATE items SET price = price * 2 WHERE id = 1\" -> \"UPDATE 1\" rows=1\n"
       "Q \"DELETE FROM items WHERE id = 2\" -> \"DELETE 1\" rows=1\n"
       "Q \"BEGIN\" -> \"BEGIN\"\n"
       "Q \"INSERT INTO items VALUES (3, 'plum', 0.5)\" -> \"INSERT 0 1\" rows=1\n"
       "Q \"COMMIT\" -> \"COMMIT\"\n"
       "Q \"SELECT * FROM missing_table\" -> ERROR 42P01 relation \"missing_table\" does not exist\n"
       "Q \"SELEC 1\" -> ERROR 42601 syntax error at or near \"SELEC\"\n"
       "Q \"INSERT INTO items VALUES (1, 'dup', 0)\" -> ERROR 23505 duplicate key value violates "
       "unique constraint \"items_pkey\"\n"
       "Q \"DROP TABLE IF EXISTS no_such_table\" -> \"DROP TABLE\"\n"
       "Q \"DO $$BEGIN RAISE NOTICE 'hello from plpgsql'; END$$\" -> \"DO\"\n"
       "Q \"SELECT 1 AS a\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"SELECT 'two; still two' AS b\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"SELECT 3 AS c\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"SELECT 1\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"SELECT * FROM missing_table\" -> ERROR 42P01 relation \"missing_table\" does not exist\n"
       "Q \"COPY items FROM STDIN\" -> \"COPY 2\" rows=2\n"
       "Q \"COPY items TO STDOUT\" -> \"COPY 4\" rows=4\n"
       "Q \"SELECT repeat('x', 10000) AS big\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"DROP TABLE items\" -> \"DROP TABLE\"\n"},
      {"psql_ssl_prefer", "postgres", "psql",
       "Q \"SELECT current_database()\" -> \"SELECT 1\" rows=1 data=1\n"},
      {"psycopg2_session", "postgres", "sonde-psycopg2",
       "Q \"BEGIN\" -> \"BEGIN\"\n"
       "Q \"CREATE TABLE py_users (id serial PRIMARY KEY, email text UNIQUE, note text)\" -> "
       "\"CREATE TABLE\"\n"
       "Q \"INSERT INTO py_users (email, note) VALUES ('a@example.com', 'it''s')\" -> \"INSERT 0 1\" "
       "rows=1\n"
       "Q \"" + long_insert + "\"... -> \"INSERT 0 1\" rows=1\n"
       "Q \"SELECT id, email FROM py_users WHERE email = 'a@example.com'\" -> \"SELECT 1\" rows=1 "
       "data=1\n"
       "Q \"COMMIT\" -> \"COMMIT\"\n"
       "Q \"BEGIN\" -> \"BEGIN\"\n"
       "Q \"INSERT INTO py_users (email) VALUES ('a@example.com')\" -> ERROR 23505 duplicate key "
       "value violates unique constraint \"py_users_email_key\"\n"
       "Q \"ROLLBACK\" -> \"ROLLBACK\"\n"
       "Q \"BEGIN\" -> \"BEGIN\"\n"
       "Q \"SELECT FROM WHERE\" -> ERROR 42601 syntax error at or near \"WHERE\"\n"
       "Q \"ROLLBACK\" -> \"ROLLBACK\"\n"
       "Q \"BEGIN\" -> \"BEGIN\"\n"
       "Q \"DECLARE \"big_cursor\" CURSOR WITHOUT HOLD FOR SELECT id, note FROM py_users ORDER BY "
       "id\" -> \"DECLARE CURSOR\"\n"
       "Q \"FETCH FORWARD 2 FROM \"big_cursor\"\" -> \"FETCH 2\" rows=2 data=2\n"
       "Q \"FETCH FORWARD 2 FROM \"big_cursor\"\" -> \"FETCH 0\" rows=0\n"
       "Q \"CLOSE \"big_cursor\"\" -> \"CLOSE CURSOR\"\n"
       "Q \"SELECT repeat('y', 70000) AS wide, 42 AS n\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"COMMIT\" -> \"COMMIT\"\n"
       "Q \"SELECT 1\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"SELECT 2\" -> \"SELECT 1\" rows=1 data=1\n"
       "Q \"UPDATE py_users SET note = NULL\" -> \"UPDATE 2\" rows=2\n"
       "Q \"DROP TABLE py_users\" -> \"DROP TABLE\"\n"},
      {"psycopg2_auth_password", "pw_user", "",
       "Q \"SELECT current_user\" -> \"SELECT 1\" rows=1 data=1\n"},
      {"psycopg2_auth_scram", "scram_user", "",
       "Q \"SELECT current_user\" -> \"SELECT 1\" rows=1 data=1\n"},
      {"node_pg_session", "postgres", "sonde-node",
       "Q \"CREATE TABLE node_items (id int PRIMARY KEY, name text)\" -> \"CREATE TABLE\"\n"
       "X \"INSERT INTO node_items VALUES ($1, $2), ($3, $4)\" -> \"INSERT 0 2\" rows=2\n"
       "X \"SELECT $1::int AS n\" -> \"SELECT 1\" rows=1 data=1\n"
       "X[get-item] \"SELECT name FROM node_items WHERE id = $1\" -> \"SELECT 1\" rows=1 data=1\n"
       "X[get-item] \"SELECT name FROM node_items WHERE id = $1\" -> \"SELECT 1\" rows=1 data=1\n"
       "X \"SELECT * FROM missing_node WHERE id = $1\" -> ERROR 42P01 relation \"missing_node\" "
       "does not exist\n"
       "X \"INSERT INTO node_items VALUES ($1, $2)\" -> ERROR 23505 duplicate key value violates "
       "unique constraint \"node_items_pkey\"\n"
       "X \"UPDATE node_items SET name = $1 WHERE id > $2 RETURNING id\" -> \"UPDATE 2\" rows=2 "
       "data=2\n"
       "Q \"DROP TABLE node_items\" -> \"DROP TABLE\"\n"},
      {"libpq_session", "postgres", "sonde-libpq",
       "Q \"CREATE TABLE lp (id int PRIMARY KEY, name text)\" -> \"CREATE TABLE\"\n"
       "X[ins] \"INSERT INTO lp VALUES ($1, $2)\" -> \"INSERT 0 1\" rows=1\n"
       "X[ins] \"INSERT INTO lp VALUES ($1, $2)\" -> \"INSERT 0 1\" rows=1\n"
       "X \"SELECT name FROM lp WHERE id >= $1\" -> \"SELECT 2\" rows=2 data=2\n"
       // PQprepare of a broken statement: the Parse itself fails.
       "X[bad] \"SELEC broken\" -> ERROR 42601 syntax error at or near \"SELEC\"\n"
       // Pipeline batch 1: three statements, one Sync.
       "X[ins] \"INSERT INTO lp VALUES ($1, $2)\" -> \"INSERT 0 1\" rows=1\n"
       "X \"INSERT INTO lp VALUES ($1, $2)\" -> \"INSERT 0 1\" rows=1\n"
       "X \"SELECT count(*) FROM lp\" -> \"SELECT 1\" rows=1 data=1\n"
       // Batch 2: the first statement fails, the UPDATE after it never runs.
       "X[ins] \"INSERT INTO lp VALUES ($1, $2)\" -> ERROR 23505 duplicate key value violates "
       "unique constraint \"lp_pkey\"\n"
       "X \"DELETE FROM lp WHERE id = 4\" -> \"DELETE 1\" rows=1\n"
       "Q \"\" -> \"\"\n"
       "Q \"-- only a comment\" -> \"\"\n"
       "Q \"COPY lp FROM STDIN\" -> \"COPY 2\" rows=2\n"
       "Q \"COPY lp FROM STDIN\" -> ERROR 57014 COPY from stdin failed: client gave up\n"
       "Q \"DROP TABLE lp\" -> \"DROP TABLE\"\n"},
      {"libpq_cancel", "postgres", "sonde-libpq",
       "Q \"SELECT pg_sleep(10)\" -> ERROR 57014 canceling statement due to user request\n"
       "Q \"SELECT 'after cancel'\" -> \"SELECT 1\" rows=1 data=1\n"},
      {"libpq_cancel_request", "", "", ""},
      {"pgbench_prepared", "postgres", "pgbench", pgbench},
  };
}

struct Capture {
  std::string fe;
  std::string be;
};

Capture Load(const Case& c) { return {ReadCapture(c.name + ".fe"), ReadCapture(c.name + ".be")}; }

class CaptureTest : public ::testing::TestWithParam<Case> {};

TEST_P(CaptureTest, DecodesExactly) {
  const Case& c = GetParam();
  Capture cap = Load(c);
  DecodeCounters counters;
  std::vector<Message> msgs = DecodeCapture(cap.fe, cap.be, {}, {}, &counters);
  EXPECT_EQ(Dump(msgs), c.expected);
  for (const Message& m : msgs) {
    const PgExchange& x = Ex(m);
    EXPECT_EQ(x.database, "sondetest");
    EXPECT_EQ(x.user, c.user);
    EXPECT_EQ(x.application_name, c.app);
    EXPECT_LE(x.start_ns, x.end_ns);
    EXPECT_EQ(m.conn.role, Role::kClient);
  }
  EXPECT_EQ(counters.resyncs, 0u);
  EXPECT_EQ(counters.gaps, 0u);
  EXPECT_EQ(counters.bytes_skipped, 0u);
  EXPECT_EQ(counters.orphan_responses, 0u);
  EXPECT_EQ(counters.pending_overflows, 0u);
}

TEST_P(CaptureTest, SameFromTheServerSide) {
  const Case& c = GetParam();
  Capture cap = Load(c);
  EXPECT_EQ(Dump(DecodeCapture(cap.fe, cap.be, {}, {}, nullptr, Role::kServer)), c.expected);
}

TEST_P(CaptureTest, EveryTwoChunkSplitDecodesTheSame) {
  const Case& c = GetParam();
  Capture cap = Load(c);
  // Inside very long rows every split point behaves alike; a stride keeps
  // the 70 KB row from dominating the run time.
  auto stride = [](size_t size, size_t i) { return size > 20000 && i > 400 && i + 400 < size ? 37 : 1; };
  for (size_t i = 1; i < cap.fe.size(); i += stride(cap.fe.size(), i)) {
    ASSERT_EQ(Dump(DecodeCapture(cap.fe, cap.be, {i}, {})), c.expected) << "frontend split at " << i;
  }
  for (size_t i = 1; i < cap.be.size(); i += stride(cap.be.size(), i)) {
    ASSERT_EQ(Dump(DecodeCapture(cap.fe, cap.be, {}, {i})), c.expected) << "backend split at " << i;
  }
}

TEST_P(CaptureTest, OneByteChunksDecodeTheSame) {
  const Case& c = GetParam();
  Capture cap = Load(c);
  std::vector<size_t> fe_cuts, be_cuts;
  for (size_t i = 1; i < cap.fe.size(); ++i) fe_cuts.push_back(i);
  for (size_t i = 1; i < cap.be.size(); ++i) be_cuts.push_back(i);
  EXPECT_EQ(Dump(DecodeCapture(cap.fe, cap.be, fe_cuts, be_cuts)), c.expected);
}

TEST_P(CaptureTest, PasswordsAreNeverKept) {
  const Case& c = GetParam();
  Capture cap = Load(c);
  for (const Message& m : DecodeCapture(cap.fe, cap.be)) {
    const PgExchange& x = Ex(m);
    for (const std::string* s : {&x.query_text, &x.user, &x.database, &x.application_name}) {
      EXPECT_EQ(s->find("Secret"), std::string::npos);
      EXPECT_EQ(s->find("SCRAM"), std::string::npos);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Recorded, CaptureTest, ::testing::ValuesIn(AllCases()),
                         [](const auto& info) { return info.param.name; });

// The length field of the typed message at `i`.
size_t MessageLength(const std::string& bytes, size_t i) {
  size_t n = 0;
  for (int k = 1; k <= 4; ++k) n = n << 8 | static_cast<unsigned char>(bytes[i + k]);
  return n;
}

// Splits a capture of one direction into the writes a server makes: every
// message up to the next ReadyForQuery together, except that each message
// larger than `big` is written alone (the way large rows leave the server
// once its buffer is full).
std::vector<std::string> Writes(const std::string& be, size_t big) {
  std::vector<std::string> out;
  std::string cur;
  size_t i = 0;
  while (i + 5 <= be.size()) {
    if (be[i] == 'N' && out.empty() && cur.empty() && (i + 1 == be.size() || be[i + 1] != '\0')) {
      out.push_back("N");  // the SSLRequest answer
      ++i;
      continue;
    }
    const size_t len = 1 + MessageLength(be, i);
    std::string msg = be.substr(i, len);
    i += len;
    if (msg.size() > big) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      out.push_back(std::move(msg));
      continue;
    }
    cur += msg;
    if (msg[0] == 'Z') {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

TEST(CaptureHoles, LargeRowsAreSkippedThroughCappedSyscalls) {
  for (const char* name : {"psql_session", "psycopg2_session"}) {
    Case c;
    for (const Case& k : AllCases()) {
      if (k.name == name) c = k;
    }
    Capture cap = Load(c);
    Feeder f(Role::kClient);
    f.Fe(cap.fe);
    // Every server write captured only up to 4 KiB, like the BPF cap.
    for (const std::string& w : Writes(cap.be, 4096)) f.Be(w, 4096);
    f.Close();
    EXPECT_EQ(Dump(f.Drain()), c.expected) << name;
    EXPECT_EQ(f.counters().resyncs, 0u) << name;
    EXPECT_EQ(f.counters().bytes_skipped, 0u) << name;
  }
}

TEST(CaptureHoles, LongQueryCutByTheCaptureKeepsWhatWasSeen) {
  Capture cap{ReadCapture("psycopg2_session.fe"), ReadCapture("psycopg2_session.be")};
  // The 5 KB INSERT is one client write; capture only its first 1000 bytes.
  const size_t at = cap.fe.find("INSERT INTO py_users (email, note) VALUES ('b@");
  ASSERT_NE(at, std::string::npos);
  const size_t start = at - 5;
  const size_t len = 1 + MessageLength(cap.fe, start);
  ASSERT_EQ(len, 5069u);
  Feeder f(Role::kClient);
  f.Fe(cap.fe.substr(0, start));
  f.Fe(cap.fe.substr(start, len), 1000);
  f.Fe(cap.fe.substr(start + len));
  f.Be(cap.be);
  f.Close();
  std::vector<Message> msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 23u);
  const PgExchange& x = Ex(msgs[3]);
  EXPECT_TRUE(x.query_truncated);
  EXPECT_EQ(x.query_text.size(), 1000u - 5u);
  EXPECT_EQ(x.command_tag, "INSERT 0 1");
  EXPECT_EQ(f.counters().resyncs, 0u);
}

}  // namespace
}  // namespace sonde::test
