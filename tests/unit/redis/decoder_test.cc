// Pairing and connection state: pipelining, transactions, SELECT, RESP3,
// pub/sub, MONITOR, secrets, timestamps, bounds, and inference through the
// connection tracker.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "decoders/connection_tracker.h"
#include "test_util.h"

namespace sonde::test {
namespace {

constexpr Direction kOut = Direction::kEgress;
constexpr Direction kIn = Direction::kIngress;

// A command as clients send it.
std::string Cmd(std::initializer_list<std::string_view> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args)
    s += "$" + std::to_string(a.size()) + "\r\n" + std::string(a) + "\r\n";
  return s;
}

std::string Decode(const std::string& cmds, const std::string& replies, Feeder* f = nullptr) {
  Feeder local(Role::kClient);
  Feeder& d = f ? *f : local;
  d.Send(kOut, cmds);
  d.Send(kIn, replies);
  d.Close();
  return Dump(d.Drain());
}

TEST(RedisDecoder, PipelinedRepliesPairInOrder) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"SET", "a", "1"}) + Cmd({"GET", "a"}) + Cmd({"INCR", "a"}));
  EXPECT_EQ(f.decoder().pending_commands(), 3u);
  f.Send(kIn, "+OK\r\n$1\r\n1\r\n:2\r\n");
  EXPECT_EQ(Dump(f.Drain()),
            "SET a 1 db=0 -> +OK\n"
            "GET a db=0 -> $1\n"
            "INCR a db=0 -> :2\n");
  EXPECT_EQ(f.decoder().pending_commands(), 0u);
}

TEST(RedisDecoder, InlineCommandsAndIgnoredInput) {
  // Blank lines and empty multibulks get no reply from redis-server.
  EXPECT_EQ(Decode("\r\nPING\r\n*0\r\n*-1\r\nECHO 'hi there'\n", "+PONG\r\n$8\r\nhi there\r\n"),
            "PING INLINE db=0 -> +PONG\n"
            "ECHO \"hi there\" INLINE db=0 -> $8\n");
}

TEST(RedisDecoder, OrphanRepliesAreCounted) {
  Feeder f(Role::kClient);
  f.Send(kIn, "+OK\r\n");
  EXPECT_EQ(f.counters().orphan_responses, 1u);
  EXPECT_TRUE(f.Drain().empty());
}

TEST(RedisDecoder, UnansweredCommandsAtClose) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"BLPOP", "q", "0"}));
  f.Close();
  EXPECT_EQ(Dump(f.Drain()), "BLPOP q 0 db=0 -> (none)\n");
}

TEST(RedisDecoder, ReplyCutByCloseIsTruncated) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"LRANGE", "l", "0", "-1"}));
  f.Send(kIn, "*3\r\n$1\r\na\r\n$1\r\n");
  f.Close();
  EXPECT_EQ(Dump(f.Drain()), "LRANGE l 0 -1 db=0 -> *3 TRUNCATED\n");
}

TEST(RedisDecoder, SelectChangesTheDatabaseOfLaterCommands) {
  EXPECT_EQ(Decode(Cmd({"SELECT", "3"}) + Cmd({"GET", "k"}) + Cmd({"SELECT", "99"}) +
                       Cmd({"GET", "k"}) + Cmd({"select", "0"}) + Cmd({"GET", "k"}),
                   "+OK\r\n$-1\r\n-ERR DB index is out of range\r\n$-1\r\n+OK\r\n$-1\r\n"),
            "SELECT 3 db=0 -> +OK\n"
            "GET k db=3 -> $null\n"
            "SELECT 99 db=3 -> -ERR DB index is out of range\n"
            "GET k db=3 -> $null\n"
            "select 0 db=3 -> +OK\n"
            "GET k db=0 -> $null\n");
}

TEST(RedisDecoder, TransactionsPairQueuedRepliesAndApplySelectAtExec) {
  const std::string cmds = Cmd({"MULTI"}) + Cmd({"SELECT", "4"}) + Cmd({"SET", "k", "v"}) +
                           Cmd({"EXEC"}) + Cmd({"GET", "k"}) + Cmd({"MULTI"}) +
                           Cmd({"SELECT", "5"}) + Cmd({"DISCARD"}) + Cmd({"PING"});
  const std::string replies =
      "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n$1\r\nv\r\n+OK\r\n+QUEUED\r\n+OK\r\n+"
      "PONG\r\n";
  EXPECT_EQ(Decode(cmds, replies),
            "MULTI db=0 -> +OK\n"
            "SELECT 4 TX db=0 -> +QUEUED\n"
            "SET k v TX db=0 -> +QUEUED\n"
            "EXEC db=0 -> *2\n"
            "GET k db=4 -> $1\n"
            "MULTI db=4 -> +OK\n"
            "SELECT 5 TX db=4 -> +QUEUED\n"
            "DISCARD db=4 -> +OK\n"
            "PING db=4 -> +PONG\n");
}

TEST(RedisDecoder, DatabaseUnknownForConnectionsSeenMidStream) {
  Feeder f(MakeConn(Role::kUnknown));
  f.Send(kOut, Cmd({"GET", "k"}) + Cmd({"SELECT", "2"}) + Cmd({"GET", "k"}));
  f.Send(kIn, "$-1\r\n+OK\r\n$-1\r\n");
  EXPECT_EQ(Dump(f.Drain()),
            "GET k db=? -> $null\n"
            "SELECT 2 db=? -> +OK\n"
            "GET k db=2 -> $null\n");

  Feeder late(Role::kClient);
  late.Lose(kOut, 100);  // the first command bytes were never seen
  late.Send(kOut, Cmd({"GET", "k"}));
  late.Send(kIn, "$-1\r\n");
  EXPECT_EQ(Dump(late.Drain()), "GET k db=? -> $null\n");
}

TEST(RedisDecoder, Resp3TypesAndAttributes) {
  const std::string cmds = Cmd({"HELLO", "3"}) + Cmd({"HGETALL", "h"}) + Cmd({"X"}) + Cmd({"Y"}) +
                           Cmd({"Z"}) + Cmd({"W"}) + Cmd({"V"});
  const std::string replies =
      "%1\r\n$5\r\nproto\r\n:3\r\n"
      "%1\r\n$1\r\nf\r\n*2\r\n|1\r\n+ttl\r\n:5\r\n$1\r\nv\r\n,1.5\r\n"  // attribute inside
      "|1\r\n+popularity\r\n,0.9\r\n$2\r\nhi\r\n"                       // attribute before
      "!21\r\nSYNTAX invalid syntax\r\n"
      "=7\r\ntxt:abc\r\n"
      "(-12345678901234567890\r\n"
      "#f\r\n";
  Feeder f(Role::kClient);
  EXPECT_EQ(Decode(cmds, replies, &f),
            "HELLO 3 db=0 -> %1\n"
            "HGETALL h db=0 -> %1\n"
            "X db=0 -> $2\n"
            "Y db=0 -> !SYNTAX invalid syntax\n"
            "Z db=0 -> =7\n"
            "W db=0 -> (-12345678901234567890\n"
            "V db=0 -> #f\n");
  EXPECT_TRUE(f.decoder().resp3());
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(RedisDecoder, Resp3PushesAreNeverReplies) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"HELLO", "3"}) + Cmd({"CLIENT", "TRACKING", "on"}) + Cmd({"GET", "k"}));
  f.Send(kIn, "%1\r\n$5\r\nproto\r\n:3\r\n+OK\r\n");
  // An invalidation arrives before GET's reply, on a connection not subscribed to anything.
  f.Send(kIn, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\nv\r\n");
  f.Send(kIn, ">2\r\n$10\r\ninvalidate\r\n_\r\n");  // and one after: not an orphan either
  EXPECT_EQ(Dump(f.Drain()),
            "HELLO 3 db=0 -> %1\n"
            "CLIENT TRACKING on db=0 -> +OK\n"
            "GET k db=0 -> $1\n");
  EXPECT_EQ(f.decoder().pushes(), 2u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(RedisDecoder, Resp2SubscribeModeKeepsMessagesApart) {
  Feeder f(Role::kClient);
  // Pipelined: two SUBSCRIBEs, the first for two channels.
  f.Send(kOut, Cmd({"SUBSCRIBE", "a", "b"}) + Cmd({"SUBSCRIBE", "c"}));
  f.Send(kIn,
         "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
         "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
         "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n"
         "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:3\r\n");
  EXPECT_TRUE(f.decoder().subscribed());
  f.Send(kIn, "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$1\r\nc\r\n$1\r\nx\r\n");
  f.Send(kOut, Cmd({"PING"}));
  f.Send(kIn, "*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$1\r\ny\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  // Unsubscribing from everything: one confirmation per channel.
  f.Send(kOut, Cmd({"UNSUBSCRIBE"}) + Cmd({"GET", "k"}));
  f.Send(kIn,
         "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n"
         "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"
         "*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n"
         "$-1\r\n");
  EXPECT_FALSE(f.decoder().subscribed());
  EXPECT_EQ(Dump(f.Drain()),
            "SUBSCRIBE a b db=0 -> *3\n"
            "SUBSCRIBE c db=0 -> *3\n"
            "PING db=0 -> *2\n"
            "UNSUBSCRIBE db=0 -> *3\n"
            "GET k db=0 -> $null\n");
  EXPECT_EQ(f.decoder().pushes(), 6u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(RedisDecoder, MessageLikeArraysOutsideSubscribeModeAreReplies) {
  // LRANGE of a list holding "message" items is an ordinary reply.
  EXPECT_EQ(
      Decode(Cmd({"LRANGE", "l", "0", "-1"}), "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n"),
      "LRANGE l 0 -1 db=0 -> *3\n");
}

TEST(RedisDecoder, Resp3SubscribeConfirmationsArePushes) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"HELLO", "3"}) + Cmd({"SSUBSCRIBE", "s1"}) + Cmd({"GET", "k"}));
  f.Send(kIn,
         "%1\r\n$5\r\nproto\r\n:3\r\n"
         ">3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n"
         ">3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$1\r\nm\r\n"
         "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");  // RESP3: an array is a reply
  EXPECT_EQ(Dump(f.Drain()),
            "HELLO 3 db=0 -> %1\n"
            "SSUBSCRIBE s1 db=0 -> >3\n"
            "GET k db=0 -> *3\n");
  EXPECT_TRUE(f.decoder().subscribed());
  EXPECT_EQ(f.decoder().pushes(), 1u);
}

TEST(RedisDecoder, MonitorLinesAreNotReplies) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"MONITOR"}));
  f.Send(kIn, "+OK\r\n+1700000000.123456 [0 127.0.0.1:5000] \"GET\" \"k\"\r\n");
  f.Send(kIn, "+1700000000.223456 [0 127.0.0.1:5000] \"SET\" \"k\" \"v\"\r\n");
  f.Send(kOut, Cmd({"RESET"}));
  f.Send(kIn, "+RESET\r\n");
  EXPECT_EQ(Dump(f.Drain()), "MONITOR db=0 -> +OK\nRESET db=0 -> +RESET\n");
  EXPECT_EQ(f.decoder().pushes(), 2u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(RedisDecoder, ResetReturnsToDatabaseZeroAndResp2) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"HELLO", "3"}) + Cmd({"SELECT", "7"}) + Cmd({"RESET"}) + Cmd({"GET", "k"}));
  f.Send(kIn, "%1\r\n$5\r\nproto\r\n:3\r\n+OK\r\n+RESET\r\n$-1\r\n");
  EXPECT_EQ(Dump(f.Drain()),
            "HELLO 3 db=0 -> %1\n"
            "SELECT 7 db=0 -> +OK\n"
            "RESET db=7 -> +RESET\n"
            "GET k db=0 -> $null\n");
  EXPECT_FALSE(f.decoder().resp3());
}

TEST(RedisDecoder, ClientReplyOffAndSkip) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"CLIENT", "REPLY", "SKIP"}) + Cmd({"SET", "a", "1"}) + Cmd({"GET", "a"}) +
                   Cmd({"client", "reply", "off"}) + Cmd({"SET", "b", "2"}) +
                   Cmd({"CLIENT", "REPLY", "SKIP"}) + Cmd({"CLIENT", "REPLY", "ON"}) +
                   Cmd({"GET", "b"}));
  f.Send(kIn, "$1\r\n1\r\n+OK\r\n$1\r\n2\r\n");
  // Commands that get no reply are reported as soon as they are sent.
  EXPECT_EQ(Dump(f.Drain()),
            "CLIENT REPLY SKIP NOREPLY db=0 -> (none)\n"
            "SET a 1 NOREPLY db=0 -> (none)\n"
            "client reply off NOREPLY db=0 -> (none)\n"
            "SET b 2 NOREPLY db=0 -> (none)\n"
            "CLIENT REPLY SKIP NOREPLY db=0 -> (none)\n"
            "GET a db=0 -> $1\n"
            "CLIENT REPLY ON db=0 -> +OK\n"
            "GET b db=0 -> $1\n");
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(RedisDecoder, CredentialsNeverReachTheMessage) {
  Feeder f(Role::kClient);
  f.Send(kOut, Cmd({"AUTH", "app", "hunter2"}) +
                   Cmd({"HELLO", "3", "AUTH", "app", "hunter2", "SETNAME", "svc"}) +
                   "AUTH hunter2\r\n" + Cmd({"ACL", "SETUSER", "u", "on", ">hunter2"}));
  f.Send(kIn, "+OK\r\n%1\r\n$5\r\nproto\r\n:3\r\n+OK\r\n+OK\r\n");
  const std::string dump = Dump(f.Drain());
  EXPECT_EQ(dump,
            "AUTH #3 REDACTED db=0 -> +OK\n"
            "HELLO 3 AUTH #7 REDACTED db=0 -> %1\n"
            "AUTH #2 REDACTED INLINE db=0 -> +OK\n"
            "ACL SETUSER u #5 REDACTED db=0 -> +OK\n");
  EXPECT_EQ(dump.find("hunter2"), std::string::npos);
}

TEST(RedisDecoder, BoundedArguments) {
  Feeder f(Role::kClient);
  const std::string big(10000, 'v');
  f.Send(kOut, Cmd({"MSET", "k1", big, "k2", "v", "k3", "v", "k4", "v", "k5", "v"}));
  f.Send(kIn, "+OK\r\n");
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  const RedisCommand& c = Ex(m[0]).command;
  EXPECT_EQ(c.arg_count, 11u);
  ASSERT_EQ(c.args.size(), 8u);
  EXPECT_EQ(c.args[2].size(), 256u);
  EXPECT_EQ(c.args[7], "k4");
}

TEST(RedisDecoder, TimesComeFromTheSyscalls) {
  Feeder f(Role::kClient);
  f.Send(kOut, "*2\r\n$3\r\nGET\r\n", 100, 7);
  f.Send(kOut, "$1\r\nk\r\n", 110, 7);
  f.Send(kIn, "$5\r\nhel", 200, 9);
  f.Send(kIn, "lo\r\n", 230, 9);
  EXPECT_EQ(Dump(f.Drain(), true), "GET k db=0 [100-110 t7] -> $5 [200-230 t9]\n");
}

TEST(RedisDecoder, TooManyPendingCommandsAreFlushed) {
  DecoderLimits limits;
  limits.max_pending = 3;
  Feeder f(Role::kClient, limits);
  for (int i = 0; i < 5; ++i) f.Send(kOut, Cmd({"INCR", std::to_string(i)}));
  EXPECT_EQ(f.counters().pending_overflows, 2u);
  EXPECT_EQ(f.decoder().pending_commands(), 3u);
  EXPECT_EQ(Dump(f.Drain()), "INCR 0 db=0 -> (none)\nINCR 1 db=0 -> (none)\n");
  EXPECT_LT(f.decoder().buffered_bytes(), 4096u);
}

TEST(RedisDecoder, RoleInferredFromEitherDirection) {
  Feeder f(MakeConn(Role::kUnknown));
  f.Send(kIn, "+PONG\r\n");  // a reply arriving: the traced process is the client
  EXPECT_EQ(f.decoder().conn().role, Role::kClient);
  EXPECT_TRUE(f.decoder().conn().role_inferred);
  f.Send(kOut, Cmd({"PING"}));
  f.Send(kIn, "+PONG\r\n");
  EXPECT_EQ(Dump(f.Drain()), "PING db=? -> +PONG\n");
}

// The whole path a connection takes in the agent: inference in the tracker,
// then this decoder.
TEST(RedisTracker, InfersRedisAndNothingElse) {
  ConnectionTracker tracker;
  auto send = [&](int fd, Role role, Direction dir, uint64_t pos, std::string_view bytes) {
    ConnInfo c = MakeConn(role, 100, fd);
    DataChunk ch{pos, static_cast<uint32_t>(bytes.size()), bytes, 5, 1};
    tracker.OnData(c, dir, ch);
  };
  const std::string cmd = Cmd({"GET", "k"});
  // A connection that predates sonde, first seen in three small pieces.
  send(1, Role::kUnknown, kIn, 0, cmd.substr(0, 1));
  send(1, Role::kUnknown, kIn, 1, cmd.substr(1, 5));
  send(1, Role::kUnknown, kIn, 6, cmd.substr(6));
  send(1, Role::kUnknown, kOut, 0, "$1\r\nv\r\n");
  EXPECT_EQ(tracker.ProtocolOf(MakeConn(Role::kUnknown, 100, 1).key), Protocol::kRedis);
  send(2, Role::kClient, kOut, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(tracker.ProtocolOf(MakeConn(Role::kClient, 100, 2).key), Protocol::kHttp1);
  send(3, Role::kClient, kOut, 0, std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11));
  EXPECT_EQ(tracker.ProtocolOf(MakeConn(Role::kClient, 100, 3).key), Protocol::kUnknown);
  send(4, Role::kClient, kOut, 0, "PING\r\n");
  EXPECT_EQ(tracker.ProtocolOf(MakeConn(Role::kClient, 100, 4).key), Protocol::kRedis);
  std::vector<Message> out;
  tracker.Drain(&out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].conn.role, Role::kServer);
  EXPECT_TRUE(out[0].conn.role_inferred);
  EXPECT_EQ(Dump(out), "GET k db=? -> $1\n");
}

}  // namespace
}  // namespace sonde::test

namespace sonde::test {
namespace {

// Same-host stitching pairs the two ends of a connection by where each
// command starts in the stream: both roles must report the same positions.
TEST(RedisDecoder, CommandsCarryTheirStreamPositionAtBothEnds) {
  const std::string a = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n", b = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n";
  for (Role role : {Role::kClient, Role::kServer}) {
    Feeder f(role);
    f.Send(f.cmd_dir(), a + b);  // pipelined: one write
    f.Send(f.cmd_dir(), "PING\r\n");  // inline
    f.Send(f.reply_dir(), "+OK\r\n$1\r\n1\r\n+PONG\r\n");
    std::vector<Message> m = f.Drain();
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(Ex(m[0]).command.pos, 0u);
    EXPECT_EQ(Ex(m[1]).command.pos, a.size());
    EXPECT_EQ(Ex(m[2]).command.pos, a.size() + b.size());
  }
}

}  // namespace
}  // namespace sonde::test
