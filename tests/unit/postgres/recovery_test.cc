// What the decoder does with imperfect input: lost events (gaps), capped
// syscalls (holes), repeated bytes, garbage, streams picked up mid-message,
// connections cut at every byte, and random bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace sonde::test {
namespace {

using namespace wire;  // NOLINT: builders read like the protocol

Feeder Connected(Role role = Role::kClient) {
  Feeder f(role);
  f.Fe(Startup({{"user", "alice"}, {"database", "shop"}}));
  f.Be(Welcome());
  return f;
}

TEST(PgRecovery, GapInsideALargeRowIsSkippedByLength) {
  Feeder f = Connected();
  f.Fe(Query("SELECT blob FROM files"));
  const std::string row = DataRow({std::string(50000, 'b')});
  f.Be(RowDescription({"blob"}) + row.substr(0, 1000));
  f.Lose(f.be_dir(), 30000);  // a lost event inside the row
  f.Be(row.substr(31000) + Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()), "Q \"SELECT blob FROM files\" -> \"SELECT 1\" rows=1 data=1\n");
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(PgRecovery, HoleInsideALargeRowIsSkippedByLength) {
  Feeder f = Connected();
  f.Fe(Query("SELECT blob FROM files"));
  const std::string row = DataRow({std::string(50000, 'b')});
  f.Be(RowDescription({"blob"}) + row, 4096);  // one capped syscall
  f.Be(Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()), "Q \"SELECT blob FROM files\" -> \"SELECT 1\" rows=1 data=1\n");
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().bytes_skipped, 0u);
}

TEST(PgRecovery, HoleOverFramingLosesTheResultsButNotTheConnection) {
  Feeder f = Connected();
  f.Fe(Query("SELECT 1"));
  f.Fe(Query("SELECT 2"));
  // The results of both are in one capped write whose framing is lost.
  f.Be(DataRow({"1"}) + Complete("SELECT 1") + Ready() + DataRow({"2"}) + Complete("SELECT 1") + Ready(), 3);
  f.Fe(Query("SELECT 3"));
  f.Be(DataRow({"3"}) + Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "Q \"SELECT 1\" -> (none)\n"
            "Q \"SELECT 2\" -> (none)\n"
            "Q \"SELECT 3\" -> \"SELECT 1\" rows=1 data=1\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
}

TEST(PgRecovery, LostFrontendEventLeavesLaterPairsIntact) {
  Feeder f = Connected();
  f.Fe(Query("SELECT 1"));
  f.Be(Complete("SELECT 1") + Ready());
  const std::string lost = Query("SELECT 2");
  f.Lose(f.fe_dir(), lost.size());
  f.Be(Complete("SELECT 1") + Ready());  // the answer to the lost Query
  f.Fe(Query("SELECT 3"));
  f.Be(Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "Q \"SELECT 1\" -> \"SELECT 1\" rows=1\n"
            "Q \"SELECT 3\" -> \"SELECT 1\" rows=1\n");
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_EQ(f.counters().orphan_responses, 1u);
}

TEST(PgRecovery, GarbageBetweenMessagesIsSkippedAndCounted) {
  Feeder f = Connected(Role::kServer);
  f.Fe(Query("SELECT 1"));
  f.Be(Complete("SELECT 1") + Ready());
  const std::string junk = "\x01\x02 this is not a message \xff\xfe";
  f.Fe(junk + Query("SELECT 2"));
  f.Be(Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()),
            "Q \"SELECT 1\" -> \"SELECT 1\" rows=1\n"
            "Q \"SELECT 2\" -> \"SELECT 1\" rows=1\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_EQ(f.counters().bytes_skipped, junk.size());
}

TEST(PgRecovery, RepeatedAndOverlappingChunksAreIgnored) {
  Feeder f = Connected();
  const std::string q = Query("SELECT 1");
  const uint64_t fe_start = Startup({{"user", "alice"}, {"database", "shop"}}).size();
  f.Fe(q);
  f.SendAt(f.fe_dir(), fe_start, q.substr(0, 4));  // a repeat of the Query's first bytes
  const std::string res = Complete("SELECT 1") + Ready();
  const uint64_t be_start = Welcome().size();
  f.Be(res.substr(0, 6));
  f.SendAt(f.be_dir(), be_start, res);  // overlaps what was sent and completes it
  f.SendAt(f.be_dir(), be_start, res);  // an exact repeat
  EXPECT_EQ(Dump(f.Drain()), "Q \"SELECT 1\" -> \"SELECT 1\" rows=1\n");
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(PgRecovery, StreamPickedUpMidMessageAligns) {
  // sonde starts while a large result is being read: the first backend
  // bytes are the middle of a DataRow.
  Feeder f(Role::kClient);
  const std::string row = DataRow({std::string(3000, 'r')});
  f.Be(row.substr(1500) + Complete("SELECT 1") + Ready());
  f.Fe(Query("SELECT 2"));
  f.Be(DataRow({"2"}) + Complete("SELECT 1") + Ready());
  EXPECT_EQ(Dump(f.Drain()), "Q \"SELECT 2\" -> \"SELECT 1\" rows=1 data=1\n");
  EXPECT_EQ(f.counters().resyncs, 0u);  // aligning the first bytes is not a loss of sync
  EXPECT_EQ(f.counters().bytes_skipped, row.size() - 1500);
}

TEST(PgRecovery, CloseAtEveryByteGivesAPrefixOfTheResults) {
  const std::string fe = Startup({{"user", "u"}}) + Query("BEGIN; SELECT 1") +
                         Parse("s", "SELECT $1") + Bind("", "s", {"1"}) + Execute() + Sync() +
                         Query("COMMIT");
  const std::string be = Welcome() + Complete("BEGIN") + RowDescription({"x"}) + DataRow({"1"}) +
                         Complete("SELECT 1") + Ready('T') + ParseComplete() + BindComplete() +
                         DataRow({"1"}) + Complete("SELECT 1") + Ready('T') + Complete("COMMIT") +
                         Ready();
  const std::vector<Message> full = DecodeCapture(fe, be);
  ASSERT_EQ(full.size(), 4u);
  for (size_t cut = 0; cut <= be.size(); ++cut) {
    std::vector<Message> got = DecodeCapture(fe, be.substr(0, cut));
    ASSERT_EQ(got.size(), full.size()) << cut;
    bool answered = true;
    for (size_t i = 0; i < got.size(); ++i) {
      const PgExchange& x = Ex(got[i]);
      // Once one is unanswered, all later ones are too.
      if (!x.response_seen) answered = false;
      if (answered) {
        EXPECT_EQ(Dump({got[i]}), Dump({full[i]})) << cut;
      } else {
        EXPECT_FALSE(x.response_seen) << cut;
        EXPECT_EQ(x.query_text, Ex(full[i]).query_text) << cut;
      }
    }
  }
}

TEST(PgRecovery, RandomBytesNeverCrashOrGrow) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    Feeder f(round % 3 == 0 ? Role::kUnknown : (round % 3 == 1 ? Role::kClient : Role::kServer));
    for (int i = 0; i < 40; ++i) {
      std::string chunk(rng() % 700 + 1, '\0');
      for (char& c : chunk) {
        // Bias towards bytes that look like PostgreSQL framing.
        uint32_t r = rng() % 8;
        c = r == 0 ? '\0' : r == 1 ? "QPBEDSCZTRK12"[rng() % 13] : static_cast<char>(rng());
      }
      Direction d = rng() % 2 ? Direction::kEgress : Direction::kIngress;
      if (rng() % 5 == 0) f.Lose(d, rng() % 100);
      f.Send(d, chunk, 0, 1, rng() % 4 == 0 ? chunk.size() / 2 : SIZE_MAX);
      ASSERT_LT(f.decoder().buffered_bytes(), 1200u * 1024);
    }
    f.Close();
    for (const Message& m : f.Drain()) {
      const PgExchange& x = Ex(m);
      EXPECT_LE(x.query_text.size(), 4096u);
      EXPECT_LE(x.start_ns, x.end_ns);
    }
  }
}

TEST(PgRecovery, FloodOfUnansweredQueriesStaysBounded) {
  Feeder f = Connected();
  for (int i = 0; i < 5000; ++i) f.Fe(Query("SELECT " + std::string(3000, 'x')));
  EXPECT_LE(f.decoder().pending_statements(), 256u);
  EXPECT_LT(f.decoder().buffered_bytes(), 1200u * 1024);
  EXPECT_GT(f.counters().pending_overflows, 0u);
}

}  // namespace
}  // namespace sonde::test
