// Bytes recorded from real clients and a real redis-server
// (tests/captures/redis, see record.sh), decoded whole and compared with a
// golden file (<name>.golden: one line per exchange, then its span and its
// unsanitized db.query.text), then under every possible chunking. On a
// mismatch the actual output is written to redis_golden/<name>.actual in the
// test's working directory, so the diff is one command away.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "spans/id_generator.h"
#include "spans/redis_span.h"
#include "test_util.h"

namespace sonde::test {
namespace {

constexpr Direction kOut = Direction::kEgress;
constexpr Direction kIn = Direction::kIngress;

const std::vector<std::string> kCaptures = {
    "cli_basic",
    "cli_errors",
    "cli_select",
    "cli_resp3",
    "cli_subscribe_resp3",
    "cli_auth",
    "cli_auth_resp3",
    "benchmark_pipeline",
    "py_basic",
    "py_pipeline",
    "py_multi",
    "py_pubsub",
    "py_auth",
    "py_auth_acl",
    "ioredis_basic",
    "ioredis_pipeline",
    "ioredis_pubsub",
    "hiredis_large",
    "raw_resp3_attrib",
    "inline_raw",
};

struct Capture {
  std::string name;
  std::string cmd;
  std::string reply;
};

Capture Load(const std::string& name) {
  return {name, ReadCapture(name + ".cmd"), ReadCapture(name + ".reply")};
}

// A traced client: commands leave on egress, replies arrive on ingress.
std::vector<Message> DecodeWhole(const Capture& c, DecodeCounters* counters = nullptr,
                                 uint64_t* pushes = nullptr) {
  Feeder f(Role::kClient);
  f.Send(kOut, c.cmd);
  f.Send(kIn, c.reply);
  if (pushes) *pushes = f.decoder().pushes();
  f.Close();
  if (counters) *counters = f.counters();
  return f.Drain();
}

std::string Golden(const std::vector<Message>& msgs, uint64_t pushes) {
  IdGenerator ids(1);
  std::string out = "# pushes (replies that answered no command): " + std::to_string(pushes) + "\n";
  for (const Message& m : msgs) {
    out += Dump({m});
    const RedisExchange& ex = Ex(m);
    out += "  " + DumpSpan(BuildRedisSpan(m.conn, ex, DbSpanOptions{}, 0, &ids, nullptr)) + "\n";
    out += "  text: " + RedisQueryText(ex.command, false) + "\n";
  }
  return out;
}

class CaptureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CaptureTest, MatchesGolden) {
  const Capture c = Load(GetParam());
  DecodeCounters counters;
  uint64_t pushes = 0;
  std::vector<Message> msgs = DecodeWhole(c, &counters, &pushes);
  const std::string actual = Golden(msgs, pushes);
  const std::string want = ReadCapture(c.name + ".golden");
  if (actual != want) {
    std::filesystem::create_directories("redis_golden");
    std::ofstream(std::filesystem::path("redis_golden") / (c.name + ".actual")) << actual;
  }
  EXPECT_EQ(actual, want) << "actual written to "
                          << std::filesystem::absolute("redis_golden/" + c.name + ".actual");
  EXPECT_EQ(counters.resyncs, 0u);
  EXPECT_EQ(counters.gaps, 0u);
  EXPECT_EQ(counters.bytes_skipped, 0u);
  EXPECT_EQ(counters.orphan_responses, 0u);
  EXPECT_EQ(counters.pending_overflows, 0u);
}

// Feeding a prefix may only produce exchanges that the whole input produces
// too (in order); the rest then completes the same result.
void ExpectPrefixThenRest(const Capture& c, bool split_cmd, const std::string& want,
                          size_t stride) {
  const std::string& split = split_cmd ? c.cmd : c.reply;
  for (size_t k = 0; k <= split.size(); k += k < 256 ? 1 : stride) {
    Feeder f(Role::kClient);
    std::string_view s(split);
    std::string early;
    if (split_cmd) {
      f.Send(kOut, s.substr(0, k), 10, 1);
      f.Send(kOut, s.substr(k), 20, 2);
      f.Send(kIn, c.reply, 30, 3);
    } else {
      f.Send(kOut, c.cmd, 10, 1);
      f.Send(kIn, s.substr(0, k), 20, 2);
      early = Dump(f.Drain());
      ASSERT_EQ(want.compare(0, early.size(), early), 0) << "k=" << k << "\n" << early;
      f.Send(kIn, s.substr(k), 30, 3);
    }
    f.Close(40);
    ASSERT_EQ(early + Dump(f.Drain()), want) << "k=" << k;
    ASSERT_EQ(f.counters().resyncs, 0u) << "k=" << k;
    ASSERT_EQ(f.counters().bytes_skipped, 0u) << "k=" << k;
  }
}

// The big capture takes a while per split: past its first bytes, every
// 97th position covers it (its values' edges are swept in recovery_test).
size_t Stride(const Capture& c) { return c.cmd.size() + c.reply.size() > 20000 ? 97 : 1; }

TEST_P(CaptureTest, CommandsSplitAtEveryByte) {
  const Capture c = Load(GetParam());
  ExpectPrefixThenRest(c, true, Dump(DecodeWhole(c)), Stride(c));
}

TEST_P(CaptureTest, RepliesSplitAtEveryByte) {
  const Capture c = Load(GetParam());
  ExpectPrefixThenRest(c, false, Dump(DecodeWhole(c)), Stride(c));
}

TEST_P(CaptureTest, OneByteChunks) {
  const Capture c = Load(GetParam());
  Feeder f(Role::kClient);
  for (char ch : c.cmd) f.Send(kOut, std::string(1, ch));
  for (char ch : c.reply) f.Send(kIn, std::string(1, ch));
  f.Close();
  EXPECT_EQ(Dump(f.Drain()), Dump(DecodeWhole(c)));
  EXPECT_EQ(f.counters().resyncs, 0u);
}

// Commands and replies interleaved as on the wire: each message its own
// syscall, a reply right after its command (pipelines: after all of them).
TEST_P(CaptureTest, MessagePerSyscallInterleaved) {
  const Capture c = Load(GetParam());
  std::vector<std::string_view> cmds = SplitMessages(c.cmd);
  std::vector<std::string_view> replies = SplitMessages(c.reply);
  Feeder f(Role::kClient);
  size_t r = 0;
  for (std::string_view m : cmds) {
    f.Send(kOut, m);
    if (r < replies.size()) f.Send(kIn, replies[r++]);
  }
  for (; r < replies.size(); ++r) f.Send(kIn, replies[r]);
  f.Close();
  EXPECT_EQ(Dump(f.Drain()), Dump(DecodeWhole(c)));
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

// Every message its own syscall with only the first 4 KiB captured: values
// larger than that are skipped by their known length.
TEST_P(CaptureTest, CappedSyscalls) {
  const Capture c = Load(GetParam());
  Feeder f(Role::kClient);
  for (std::string_view m : SplitMessages(c.cmd)) f.Send(kOut, m, 0, 1, 4096);
  for (std::string_view m : SplitMessages(c.reply)) f.Send(kIn, m, 0, 1, 4096);
  f.Close();
  std::vector<Message> got = f.Drain();
  if (c.name == "hiredis_large") {
    // Its LRANGE reply is an aggregate whose element headers fall beyond the
    // cap: that reply's framing is lost (counted), and every command still
    // gets exactly one span (see RedisRecovery.AggregateReplyLargerThanTheCap).
    EXPECT_EQ(got.size(), DecodeWhole(c).size());
    EXPECT_GT(f.counters().bytes_skipped, 0u);
    return;
  }
  EXPECT_EQ(Dump(got), Dump(DecodeWhole(c)));
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().bytes_skipped, 0u);
}

// The same bytes seen from redis-server's side of the connection.
TEST_P(CaptureTest, ServerRoleSeesTheSameExchanges) {
  const Capture c = Load(GetParam());
  Feeder f(Role::kServer);
  f.Send(kIn, c.cmd);
  f.Send(kOut, c.reply);
  f.Close();
  std::vector<Message> msgs = f.Drain();
  std::vector<Message> client = DecodeWhole(c);
  ASSERT_EQ(msgs.size(), client.size());
  IdGenerator ids(1);
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].conn.role, Role::kServer);
    Span s = BuildRedisSpan(msgs[i].conn, Ex(msgs[i]), DbSpanOptions{}, 0, &ids, nullptr);
    EXPECT_EQ(s.kind, SpanKind::kServer);
  }
  EXPECT_EQ(Dump(msgs), Dump(client));
}

// A connection that predates sonde: the role comes from the bytes.
TEST_P(CaptureTest, UnknownRoleInferredFromCommands) {
  const Capture c = Load(GetParam());
  ConnInfo conn = MakeConn(Role::kUnknown);
  Feeder f(conn);
  f.Send(kIn, c.cmd);
  f.Send(kOut, c.reply);
  f.Close();
  std::vector<Message> msgs = f.Drain();
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs[0].conn.role, Role::kServer);
  EXPECT_TRUE(msgs[0].conn.role_inferred);
  EXPECT_EQ(msgs.size(), DecodeWhole(c).size());
  EXPECT_FALSE(Ex(msgs[0]).db_index_known);
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(RedisCaptures, CaptureTest, ::testing::ValuesIn(kCaptures), CaseName);

}  // namespace
}  // namespace sonde::test
