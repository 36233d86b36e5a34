// Redis exchange -> span: kind, name, times, every attribute, status.
#include <gtest/gtest.h>

#include <string>

#include "spans/id_generator.h"
#include "spans/redis_span.h"
#include "spans/span_builder.h"
#include "test_util.h"

namespace sonde::test {
namespace {

RedisExchange Exchange(std::vector<std::string> args, std::optional<RedisReply> reply) {
  RedisExchange ex;
  ex.command.arg_count = args.size();
  ex.command.args = std::move(args);
  ex.command.start_ns = 1000;
  ex.command.end_ns = 1100;
  if (reply) {
    reply->start_ns = 1500;
    reply->end_ns = 1700;
  }
  ex.reply = std::move(reply);
  return ex;
}

RedisReply Reply(char type, std::string text = "") {
  RedisReply r;
  r.type = type;
  if (type == '-' || type == '!') {
    r.error = std::move(text);
  } else {
    r.text = std::move(text);
  }
  return r;
}

Span Build(const RedisExchange& ex, Role role = Role::kClient, bool sanitize = true) {
  IdGenerator ids(7);
  DbSpanOptions opts;
  opts.sanitize_query = sanitize;
  return BuildRedisSpan(MakeConn(role), ex, opts, 1'000'000, &ids, nullptr);
}

std::string Attrs(const Span& s) {
  std::string out;
  for (const Attribute& a : s.attributes) {
    out += a.key + "=";
    if (const auto* v = std::get_if<std::string>(&a.value)) out += *v;
    if (const auto* i = std::get_if<int64_t>(&a.value)) out += std::to_string(*i);
    if (const auto* b = std::get_if<bool>(&a.value)) out += *b ? "true" : "false";
    out += "\n";
  }
  return out;
}

TEST(RedisSpan, ClientSpanHasEveryAttribute) {
  Span s = Build(Exchange({"get", "user:1"}, Reply('$')));
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.name, "GET");
  EXPECT_EQ(s.start_unix_ns, 1'001'000u);
  EXPECT_EQ(s.end_unix_ns, 1'001'700u);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_FALSE(IsZero(s.trace_id));
  EXPECT_FALSE(IsZero(s.span_id));
  EXPECT_EQ(Attrs(s),
            "db.system.name=redis\n"
            "server.address=127.0.0.1\n"
            "server.port=6379\n"
            "network.peer.address=127.0.0.1\n"
            "network.peer.port=6379\n"
            "sonde.parent.source=none\n"
            "db.operation.name=GET\n"
            "db.query.text=GET ?\n"
            "db.namespace=0\n");
}

TEST(RedisSpan, ServerAndUnknownRoles) {
  Span s = Build(Exchange({"PING"}, Reply('+', "PONG")), Role::kServer);
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(Attrs(s),
            "db.system.name=redis\n"
            "server.address=127.0.0.1\n"
            "server.port=6379\n"
            "network.peer.address=127.0.0.1\n"
            "network.peer.port=40000\n"
            "client.address=127.0.0.1\n"
            "sonde.parent.source=none\n"
            "db.operation.name=PING\n"
            "db.query.text=PING\n"
            "db.namespace=0\n");
  EXPECT_EQ(Build(Exchange({"PING"}, Reply('+', "PONG")), Role::kUnknown).kind,
            SpanKind::kInternal);
}

TEST(RedisSpan, QueryTextSanitizedOrAsSent) {
  RedisExchange ex = Exchange(
      {"hset", "user:1", "name", "Ada Lovelace", std::string("\x00\xff\"", 3)}, Reply(':', "2"));
  EXPECT_EQ(DumpSpan(Build(ex)),
            "CLIENT \"HSET\" db.system.name=redis db.operation.name=HSET "
            "db.query.text=\"HSET ? ? ? ?\" db.namespace=0");
  EXPECT_EQ(RedisQueryText(ex.command, false),
            "hset user:1 name \"Ada Lovelace\" \"\\x00\\xff\\\"\"");
  // Container commands keep their subcommand; the rest is data.
  EXPECT_EQ(RedisQueryText(Exchange({"client", "setname", "svc-a"}, {}).command, true),
            "CLIENT SETNAME ?");
  EXPECT_EQ(RedisQueryText(Exchange({"CONFIG", "GET", "maxmemory"}, {}).command, true),
            "CONFIG GET ?");
  EXPECT_EQ(RedisQueryText(Exchange({"CLIENT", "x y"}, {}).command, true), "CLIENT ?");
  // Only the first arguments are shown.
  RedisExchange mset = Exchange({"MSET", "a", "1", "b", "2", "c", "3", "d"}, Reply('+', "OK"));
  mset.command.arg_count = 101;
  EXPECT_EQ(RedisQueryText(mset.command, true), "MSET ? ? ? ? ? ? ? ...");
  EXPECT_EQ(RedisQueryText(mset.command, false), "MSET a 1 b 2 c 3 d ...");
}

TEST(RedisSpan, SecretsAreNeverExported) {
  RedisExchange auth = Exchange({"AUTH"}, Reply('+', "OK"));
  auth.command.arg_count = 3;
  auth.command.redacted = true;
  for (bool sanitize : {true, false}) {
    Span s = Build(auth, Role::kClient, sanitize);
    EXPECT_EQ(RedisQueryText(auth.command, sanitize), "AUTH ? ?");
    EXPECT_EQ(*std::get_if<std::string>(FindAttr(s.attributes, "db.query.text")), "AUTH ? ?");
  }
  RedisExchange hello = Exchange({"HELLO", "3", "AUTH"}, Reply('%'));
  hello.command.arg_count = 7;
  hello.command.redacted = true;
  EXPECT_EQ(RedisQueryText(hello.command, false), "HELLO 3 AUTH ? ? ? ?");
  EXPECT_EQ(RedisQueryText(hello.command, true), "HELLO ? ? ? ? ? ?");
}

TEST(RedisSpan, ErrorRepliesSetStatusAndErrorType) {
  Span s = Build(
      Exchange({"LPUSH", "k", "v"},
               Reply('-', "WRONGTYPE Operation against a key holding the wrong kind of value")));
  EXPECT_EQ(s.status, StatusCode::kError);
  EXPECT_EQ(s.status_message, "WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(
      DumpSpan(s),
      "CLIENT \"LPUSH\" ERROR(WRONGTYPE Operation against a key holding the wrong kind of value) "
      "db.system.name=redis db.operation.name=LPUSH db.query.text=\"LPUSH ? ?\" db.namespace=0 "
      "db.response.status_code=WRONGTYPE error.type=WRONGTYPE");
  EXPECT_EQ(DumpSpan(Build(Exchange({"X"}, Reply('!', "SYNTAX invalid syntax")))),
            "CLIENT \"X\" ERROR(SYNTAX invalid syntax) db.system.name=redis db.operation.name=X "
            "db.query.text=X db.namespace=0 db.response.status_code=SYNTAX error.type=SYNTAX");
  EXPECT_EQ(DumpSpan(Build(Exchange({"X"}, Reply('-', "")))),
            "CLIENT \"X\" ERROR() db.system.name=redis db.operation.name=X db.query.text=X "
            "db.namespace=0 db.response.status_code=_OTHER error.type=_OTHER");
}

TEST(RedisSpan, MissingReply) {
  Span s = Build(Exchange({"BLPOP", "q", "0"}, std::nullopt));
  EXPECT_EQ(s.status, StatusCode::kError);
  EXPECT_EQ(s.status_message, "");
  EXPECT_EQ(s.end_unix_ns, 1'001'100u);
  EXPECT_EQ(DumpSpan(s),
            "CLIENT \"BLPOP\" ERROR() db.system.name=redis db.operation.name=BLPOP "
            "db.query.text=\"BLPOP ? ?\" db.namespace=0 error.type=response_missing");
}

TEST(RedisSpan, NoReplyAskedForIsNotAnError) {
  RedisExchange ex = Exchange({"SET", "k", "v"}, std::nullopt);
  ex.reply_suppressed = true;
  Span s = Build(ex);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(FindAttr(s.attributes, "error.type"), nullptr);
}

TEST(RedisSpan, NamespaceFollowsSelectAndIsLeftOutWhenUnknown) {
  RedisExchange ex = Exchange({"GET", "k"}, Reply('$'));
  ex.db_index = 3;
  EXPECT_EQ(*std::get_if<std::string>(FindAttr(Build(ex).attributes, "db.namespace")), "3");
  ex.db_index_known = false;
  EXPECT_EQ(FindAttr(Build(ex).attributes, "db.namespace"), nullptr);
}

TEST(RedisSpan, UnnamedAndTruncatedCommands) {
  // Framing lost before the name arrived, or a name that is not one.
  for (std::vector<std::string> args :
       {std::vector<std::string>{}, std::vector<std::string>{"\x01\x02"}}) {
    RedisExchange ex = Exchange(args, Reply('+', "OK"));
    ex.command.arg_count = 3;
    Span s = Build(ex);
    EXPECT_EQ(s.name, "redis");
    EXPECT_EQ(FindAttr(s.attributes, "db.operation.name"), nullptr);
    EXPECT_EQ(FindAttr(s.attributes, "db.query.text"), nullptr);
  }
  RedisExchange ex = Exchange({"SET", "k"}, Reply('+', "OK"));
  ex.command.arg_count = 3;
  ex.command.truncated = true;
  Span s = Build(ex);
  EXPECT_EQ(*std::get_if<std::string>(FindAttr(s.attributes, "db.query.text")), "SET ? ?");
  EXPECT_EQ(RedisQueryText(ex.command, false), "SET k ?");
  ASSERT_NE(FindAttr(s.attributes, "sonde.request.incomplete"), nullptr);
}

TEST(RedisSpan, SpanBuilderDispatchesRedis) {
  IdGenerator ids(3);
  SpanBuilder builder(SpanOptions{}, &ids, 0);
  Message m;
  m.conn = MakeConn(Role::kClient);
  m.payload = Exchange({"incr", "n"}, Reply(':', "1"));
  Span s = builder.Build(m, nullptr);
  EXPECT_EQ(s.name, "INCR");
  EXPECT_EQ(*std::get_if<std::string>(FindAttr(s.attributes, "db.system.name")), "redis");
}

}  // namespace
}  // namespace sonde::test
