// What the capture path does to streams: capped syscalls (holes), lost
// events (gaps), repeated bytes, garbage, and input designed to grow memory.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "test_util.h"

namespace sonde::test {
namespace {

constexpr Direction kOut = Direction::kEgress;
constexpr Direction kIn = Direction::kIngress;

std::string Cmd(std::initializer_list<std::string_view> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args)
    s += "$" + std::to_string(a.size()) + "\r\n" + std::string(a) + "\r\n";
  return s;
}

std::string Bulk(const std::string& v) {
  return "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
}

TEST(RedisRecovery, ValuesLargerThanTheCaptureCap) {
  Feeder f(Role::kClient);
  const std::string big(100000, 'b');
  f.Send(kOut, Cmd({"SET", "k", big}), 10, 1, 4096);
  f.Send(kIn, "+OK\r\n", 20);
  f.Send(kOut, Cmd({"GET", "k"}), 30);
  // The reply in three capped syscalls; the last ends inside the CRLF.
  const std::string reply = Bulk(big);
  f.Send(kIn, reply.substr(0, 50000), 40, 1, 4096);
  f.Send(kIn, reply.substr(50000, 50005), 41, 1, 100);
  f.Send(kIn, reply.substr(100005), 42, 1, 0);
  f.Send(kOut, Cmd({"PING"}), 50);
  f.Send(kIn, "+PONG\r\n", 60);
  EXPECT_EQ(Dump(f.Drain(), true), "SET k " + std::string(256, 'b') +
                                       " db=0 [10-10 t1] -> +OK [20-20 t1]\n"
                                       "GET k db=0 [30-30 t1] -> $100000 [40-42 t1]\n"
                                       "PING db=0 [50-50 t1] -> +PONG [60-60 t1]\n");
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().bytes_skipped, 0u);
}

TEST(RedisRecovery, GapInsideAValueIsSkippedByLength) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"GET", "k"}));
  const std::string reply = Bulk(std::string(30000, 'x'));
  f.Send(kIn, reply.substr(0, 10000));
  f.Lose(kIn, 10000);  // an event lost in the middle of the value
  f.Send(kIn, reply.substr(20000));
  EXPECT_EQ(Dump(f.Drain()), "GET k db=0 -> $30000\n");
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_EQ(f.counters().resyncs, 0u);
}

// hiredis's LRANGE of 2000 items is one 30 KB reply: with 4 KiB captured the
// element framing is lost in the hole. The reply is reported truncated and
// the replies after it still pair, interleaved or pipelined.
TEST(RedisRecovery, AggregateReplyLargerThanTheCap) {
  const std::string cmds = ReadCapture("hiredis_large.cmd");
  const std::string replies = ReadCapture("hiredis_large.reply");
  const std::vector<std::string_view> c = SplitMessages(cmds);
  const std::vector<std::string_view> r = SplitMessages(replies);
  ASSERT_EQ(c.size(), 30u);
  ASSERT_EQ(r.size(), 30u);
  for (bool interleaved : {true, false}) {
    Feeder f(Role::kClient);
    for (size_t i = 0; i < c.size(); ++i) {
      f.Send(kOut, c[i], 0, 1, 4096);
      if (interleaved) f.Send(kIn, r[i], 0, 1, 4096);
    }
    if (!interleaved) {
      for (std::string_view m : r) f.Send(kIn, m, 0, 1, 4096);
    }
    std::vector<Message> m = f.Drain();
    ASSERT_EQ(m.size(), 30u) << interleaved;
    EXPECT_EQ(Dump({m[26]}), "LRANGE biglist 0 -1 db=0 -> *2000 TRUNCATED\n");
    EXPECT_EQ(Dump({m[27], m[28], m[29]}),
              "INCR hits db=0 -> :1\nINCR hits db=0 -> :2\nGET hits db=0 -> $1\n");
    EXPECT_EQ(f.counters().resyncs, 1u);
    EXPECT_EQ(f.counters().orphan_responses, 0u);
  }
}

// The rest of a big reply arrives in later syscalls, before the client sends
// anything else: those bytes are skipped, not taken for replies.
TEST(RedisRecovery, ContinuationOfALostReplyIsSkipped) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"HGETALL", "h"}), 10);
  std::string reply = "*4000\r\n";
  for (int i = 0; i < 4000; ++i) reply += Bulk("field" + std::to_string(i));
  f.Send(kIn, reply.substr(0, 30000), 20, 1, 16384);
  f.Send(kIn, reply.substr(30000, 20000), 21, 1, 16384);
  f.Send(kIn, reply.substr(50000), 22);
  f.Send(kOut, Cmd({"PING"}), 30);
  f.Send(kIn, "+PONG\r\n", 40);
  EXPECT_EQ(Dump(f.Drain()), "HGETALL h db=0 -> *4000 TRUNCATED\nPING db=0 -> +PONG\n");
  EXPECT_EQ(f.counters().orphan_responses, 0u);
  // Every uncaptured byte, less the end of the element the hole began in.
  EXPECT_GT(f.counters().bytes_skipped, reply.size() - 16384 - 20);
  EXPECT_LE(f.counters().bytes_skipped, reply.size() - 16384);
}

// A pipeline whose replies were coalesced into one capped write: the replies
// in the hole are lost, and the next command sent proves it.
TEST(RedisRecovery, RepliesLostInAHole) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"GET", "a"}) + Cmd({"GET", "b"}) + Cmd({"GET", "c"}) + Cmd({"GET", "d"}), 10);
  const std::string v(3000, 'v');
  f.Send(kIn, Bulk(v) + Bulk(v) + Bulk(v) + Bulk(v), 20, 1, 4000);
  f.Send(kOut, Cmd({"GET", "e"}), 30);
  f.Send(kIn, "$-1\r\n", 40);
  EXPECT_EQ(Dump(f.Drain()),
            "GET a db=0 -> $3000\n"
            "GET b db=0 -> $3000\n"
            "GET c db=0 -> (none)\n"
            "GET d db=0 -> (none)\n"
            "GET e db=0 -> $null\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
}

// A client that waits for each reply lost one reply's event: the next reply
// answers the newest command, not the oldest.
TEST(RedisRecovery, LostReplyEvent) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"GET", "z"}), 5);
  f.Send(kIn, "$-1\r\n", 6);
  f.Send(kOut, Cmd({"GET", "a"}), 10);
  f.Lose(kIn, 9);  // "$3\r\naaa\r\n"
  f.Send(kOut, Cmd({"GET", "b"}), 30);
  f.Send(kIn, "$3\r\nbbb\r\n", 40);
  f.Send(kOut, Cmd({"GET", "c"}), 50);
  f.Send(kIn, "$3\r\nccc\r\n", 60);
  EXPECT_EQ(Dump(f.Drain()),
            "GET z db=0 -> $null\n"
            "GET a db=0 -> (none)\n"
            "GET b db=0 -> $3\n"
            "GET c db=0 -> $3\n");
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(RedisRecovery, CommandFramingLostInAHole) {
  Feeder f(Role::kClient);
  // A pipeline far larger than the cap: the hole swallows framing.
  std::string pipeline;
  for (int i = 0; i < 500; ++i) pipeline += Cmd({"SET", "key:" + std::to_string(i), "value"});
  f.Send(kOut, pipeline, 10, 1, 4096);
  f.Send(kOut, Cmd({"SELECT", "1"}) + Cmd({"GET", "x"}), 20);
  const size_t seen = f.decoder().pending_commands();
  EXPECT_GT(seen, 100u);
  std::vector<Message> m;
  f.Close();
  m = f.Drain();
  ASSERT_EQ(m.size(), seen);
  // The command cut by the hole is reported as such; the next one is found.
  EXPECT_TRUE(Ex(m[seen - 3]).command.truncated);
  EXPECT_EQ(Dump({m[seen - 2], m[seen - 1]}), "SELECT 1 db=? -> (none)\nGET x db=? -> (none)\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
}

TEST(RedisRecovery, GarbageInCommandsResyncs) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"SET", "a", "1"}));
  f.Send(kOut, "\x01\x02garbage*12x*3\r\n$oops");
  f.Send(kOut, "more junk*1\r\n$4\r\nPING\r\n");
  f.Send(kIn, "+OK\r\n+PONG\r\n");
  EXPECT_EQ(Dump(f.Drain()), "SET a 1 db=0 -> +OK\nPING db=? -> +PONG\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_EQ(f.counters().bytes_skipped, 31u);
}

TEST(RedisRecovery, GarbageInRepliesResyncsAtTheNextSyscall) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"GET", "a"}), 10);
  f.Send(kIn, "$1\r\na\r\n?? not resp $1\r\nb\r\n", 20);
  f.Send(kOut, Cmd({"GET", "c"}), 30);
  f.Send(kIn, "$1\r\nc\r\n", 40);
  EXPECT_EQ(Dump(f.Drain()), "GET a db=0 -> $1\nGET c db=0 -> $1\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(RedisRecovery, RepeatedAndOverlappingChunks) {
  Feeder f(Role::kClient);
  const std::string c = Cmd({"GET", "k"});
  f.SendAt(kOut, 0, c.substr(0, 10));
  f.SendAt(kOut, 0, c.substr(0, 10));  // a duplicate
  f.SendAt(kOut, 5, c.substr(5));      // overlapping
  f.SendAt(kIn, 0, "$2\r\nv");
  f.SendAt(kIn, 0, "$2\r\nvv\r\n");
  EXPECT_EQ(Dump(f.Drain()), "GET k db=0 -> $2\n");
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(RedisRecovery, HugeCountsAllocateNothing) {
  Feeder f(Role::kClient);
  f.Send(kOut, "*2000000000\r\n$3\r\nSET\r\n$1\r\nk\r\n");
  f.Send(kIn, "*2000000000\r\n:1\r\n:2\r\n%1000000000\r\n");
  EXPECT_LT(f.decoder().buffered_bytes(), 8192u);
  f.Close();
  EXPECT_EQ(Dump(f.Drain()), "SET k #2000000000 TRUNCATED db=0 -> *2000000000 TRUNCATED\n");
}

TEST(RedisRecovery, NestingDepthIsBounded) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"X"}) + Cmd({"Y"}));
  std::string deep;
  for (int i = 0; i < 32; ++i) deep += "*1\r\n";
  f.Send(kIn, deep + ":1\r\n", 0);
  std::string deeper;
  for (int i = 0; i < 33; ++i) deeper += "*1\r\n";
  f.Send(kIn, deeper + ":1\r\n", 0);
  f.Close();
  EXPECT_EQ(Dump(f.Drain()), "X db=0 -> *1\nY db=0 -> *1 TRUNCATED\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
}

TEST(RedisRecovery, EndlessLinesAreBounded) {
  Feeder f(Role::kClient);
  f.Send(kOut, "SET k " + std::string(70000, 'a'));  // an inline line with no end
  EXPECT_LT(f.decoder().buffered_bytes(), 80000u);
  f.Send(kOut, std::string(70000, 'a'));
  EXPECT_EQ(f.counters().resyncs, 1u);
  f.Send(kOut, Cmd({"PING"}));
  f.Send(kIn, "+PONG\r\n");
  f.Send(kIn, "+" + std::string(100000, 's'));  // an endless simple string
  EXPECT_LT(f.decoder().buffered_bytes(), 80000u);
  EXPECT_EQ(Dump(f.Drain()), "PING db=? -> +PONG\n");
  EXPECT_EQ(f.counters().resyncs, 2u);
}

// A long line trickling in byte by byte is scanned once, not once per byte.
TEST(RedisRecovery, LongLinesInTinyChunks) {
  Feeder f(Role::kClient);
  f.Send(kOut, "ECHO " + std::string(60000, 'e') + "\r\n");
  const std::string line = "+" + std::string(60000, 's') + "\r\n";
  for (char c : line) f.Send(kIn, std::string(1, c));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).reply->text, std::string(64, 's'));
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(RedisRecovery, StreamedRespTypesAreNotFollowed) {
  // RESP3 streamed strings/aggregates ("$?", "*?") are not sent by Redis;
  // they lose framing like any other unknown input.
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"X"}));
  f.Send(kIn, "$?\r\n;4\r\nHell\r\n;0\r\n");
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

}  // namespace
}  // namespace sonde::test
