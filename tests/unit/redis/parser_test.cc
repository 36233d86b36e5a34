// The stateless RESP pieces: type lines, inline commands, secrets, and the
// start checks behind inference and resynchronisation.
#include <gtest/gtest.h>

#include <string>

#include "decoders/redis/redis_decoder.h"
#include "decoders/redis/redis_parser.h"

namespace sonde::redis {
namespace {

ParseState Line(std::string_view s, TypeLine* out = nullptr, size_t* used = nullptr) {
  TypeLine l;
  size_t u = 0;
  ParseState st = ParseTypeLine(s, &l, &u);
  if (out) *out = l;
  if (used) *used = u;
  return st;
}

TEST(RedisParser, TypeLinesOfEveryType) {
  struct Case {
    std::string in;
    char type;
    int64_t n;
    std::string text;
  };
  const Case cases[] = {
      {"+OK\r\n", '+', 0, "OK"},
      {"-ERR bad thing\r\n", '-', 0, "ERR bad thing"},
      {":-42\r\n", ':', -42, "-42"},
      {":9223372036854775807\r\n", ':', INT64_MAX, "9223372036854775807"},
      {"$5\r\n", '$', 5, "5"},
      {"$-1\r\n", '$', -1, "-1"},
      {"*-1\r\n", '*', -1, "-1"},
      {"*0\r\n", '*', 0, "0"},
      {"%2\r\n", '%', 2, "2"},
      {"~3\r\n", '~', 3, "3"},
      {">3\r\n", '>', 3, "3"},
      {"|1\r\n", '|', 1, "1"},
      {"!21\r\n", '!', 21, "21"},
      {"=15\r\n", '=', 15, "15"},
      {",3.14\r\n", ',', 0, "3.14"},
      {",-inf\r\n", ',', 0, "-inf"},
      {",1e-5\r\n", ',', 0, "1e-5"},
      {"(3492890328409238509324850943850943825024385\r\n", '(', 0,
       "3492890328409238509324850943850943825024385"},
      {"#t\r\n", '#', 0, "t"},
      {"_\r\n", '_', 0, ""},
  };
  for (const Case& c : cases) {
    TypeLine l;
    size_t used = 0;
    ASSERT_EQ(Line(c.in, &l, &used), ParseState::kSuccess) << c.in;
    EXPECT_EQ(l.type, c.type) << c.in;
    if (c.type != '+' && c.type != '-' && c.type != ',' && c.type != '(' && c.type != '#' &&
        c.type != '_') {
      EXPECT_EQ(l.n, c.n) << c.in;
    }
    EXPECT_EQ(l.text, c.text) << c.in;
    EXPECT_EQ(used, c.in.size()) << c.in;
  }
}

TEST(RedisParser, EveryPrefixNeedsMoreData) {
  for (std::string s : {"+OK\r\n", "$12\r\n", "*-1\r\n", ",1.5\r\n", "_\r\n", "#f\r\n"}) {
    for (size_t k = 0; k < s.size(); ++k) {
      EXPECT_EQ(Line(s.substr(0, k)), ParseState::kNeedsMoreData) << s << " k=" << k;
    }
  }
}

TEST(RedisParser, MalformedTypeLines) {
  for (std::string s : {"?x\r\n",          "$abc\r\n", "$-2\r\n", "%-1\r\n",
                        "~-1\r\n",         "!-1\r\n",  "$1\r\r",  "+OK\n",
                        ":12a\r\n",        ":\r\n",    "$\r\n",   ":99999999999999999999\r\n",
                        "#x\r\n",          "#tt\r\n",  "_x\r\n",  ",abc\r\n",
                        ",\r\n",           "(\r\n",    "(1a\r\n", "$536870913\r\n",
                        "*2147483648\r\n", "$1-\r\n"}) {
    EXPECT_EQ(Line(s), ParseState::kInvalid) << s;
  }
  // Garbage is refused on its first bad byte, without waiting for a line end.
  EXPECT_EQ(Line("$12x"), ParseState::kInvalid);
  EXPECT_EQ(Line(std::string("*") + std::string(40, '1')), ParseState::kInvalid);
  // Simple strings may be long, but not endless.
  EXPECT_EQ(Line("+" + std::string(kMaxLineBytes, 'a')), ParseState::kNeedsMoreData);
  EXPECT_EQ(Line("+" + std::string(kMaxLineBytes + 1, 'a')), ParseState::kInvalid);
  EXPECT_EQ(Line("$536870912\r\n"), ParseState::kSuccess);  // proto-max-bulk-len itself
}

RedisCommand Inline(std::string_view s, ParseState want = ParseState::kSuccess) {
  RedisCommand cmd;
  bool blank = false;
  size_t used = 0;
  EXPECT_EQ(ParseInlineCommand(s, &cmd, &blank, &used), want) << s;
  return cmd;
}

TEST(RedisParser, InlineCommandsSplitLikeRedisServer) {
  RedisCommand c = Inline("SET  key \"two words\"\r\n");
  EXPECT_EQ(c.args, (std::vector<std::string>{"SET", "key", "two words"}));
  EXPECT_EQ(c.arg_count, 3u);
  EXPECT_TRUE(c.inline_command);
  c = Inline("set k \"a\\x41\\n\\\"\" 'it\\'s'\n");
  EXPECT_EQ(c.args, (std::vector<std::string>{"set", "k", "aA\n\"", "it's"}));
  c = Inline("MSET a 1 b 2 c 3 d 4 e 5\r\n");
  EXPECT_EQ(c.arg_count, 11u);
  EXPECT_EQ(c.args.size(), kMaxKeptArgs);
  c = Inline("ECHO " + std::string(1000, 'x') + "\r\n");
  EXPECT_EQ(c.args[1].size(), kMaxArgBytes);

  RedisCommand cmd;
  bool blank = false;
  size_t used = 0;
  EXPECT_EQ(ParseInlineCommand("  \r\nPING\r\n", &cmd, &blank, &used), ParseState::kSuccess);
  EXPECT_TRUE(blank);
  EXPECT_EQ(used, 4u);
  EXPECT_EQ(ParseInlineCommand("PING", &cmd, &blank, &used), ParseState::kNeedsMoreData);
}

TEST(RedisParser, InlineCommandsThatAreNotCommands) {
  Inline("SET k \"unbalanced\r\n", ParseState::kInvalid);
  Inline("SET k \"closed\"x\r\n", ParseState::kInvalid);
  Inline("123 abc\r\n", ParseState::kInvalid);
  Inline("\x01\x02\x03\n", ParseState::kInvalid);
  Inline("GET{ x\r\n", ParseState::kInvalid);
  Inline(std::string(kMaxLineBytes + 1, 'a'), ParseState::kInvalid);
  Inline(std::string(100, 'a'), ParseState::kNeedsMoreData);
  // Module commands have dots in their names.
  EXPECT_EQ(Inline("JSON.SET doc $ 1\r\n").args[0], "JSON.SET");
}

TEST(RedisParser, SecretsAreNeverKept) {
  auto kept = [](std::vector<std::string> all) {
    RedisCommand c;
    for (size_t i = 0; i < all.size(); ++i) KeepArg(&c, i, all[i]);
    std::string s;
    for (const std::string& a : c.args) s += a + " ";
    return s + (c.redacted ? "REDACTED" : "");
  };
  EXPECT_EQ(kept({"AUTH", "pw"}), "AUTH REDACTED");
  EXPECT_EQ(kept({"auth", "user", "pw"}), "auth REDACTED");
  EXPECT_EQ(kept({"HELLO", "3", "AUTH", "user", "pw", "SETNAME", "x"}), "HELLO 3 AUTH REDACTED");
  EXPECT_EQ(kept({"HELLO", "3", "SETNAME", "auth"}), "HELLO 3 SETNAME auth ");
  EXPECT_EQ(kept({"HELLO", "AUTH"}), "HELLO AUTH ");  // protover "AUTH": refused by the server
  EXPECT_EQ(kept({"MIGRATE", "h", "6379", "k", "0", "10", "AUTH2", "u", "pw"}),
            "MIGRATE h 6379 k 0 10 AUTH2 REDACTED");
  EXPECT_EQ(kept({"ACL", "SETUSER", "app", "on", ">pw"}), "ACL SETUSER app REDACTED");
  EXPECT_EQ(kept({"ACL", "WHOAMI"}), "ACL WHOAMI ");
  EXPECT_EQ(kept({"CONFIG", "SET", "maxmemory", "1gb", "requirepass", "pw"}),
            "CONFIG SET maxmemory 1gb requirepass REDACTED");
  EXPECT_EQ(kept({"CONFIG", "GET", "requirepass"}), "CONFIG GET requirepass ");
  EXPECT_EQ(kept({"GET", "auth"}), "GET auth ");

  RedisCommand c = Inline("AUTH s3cret\r\n");
  EXPECT_EQ(c.args, std::vector<std::string>{"AUTH"});
  EXPECT_EQ(c.arg_count, 2u);
  EXPECT_TRUE(c.redacted);
}

TEST(RedisParser, CommandStartCheck) {
  const std::string s = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  for (size_t k = 0; k < 8; ++k) EXPECT_EQ(CheckCommandStart(s.substr(0, k)), StartCheck::kPrefix);
  EXPECT_EQ(CheckCommandStart(s.substr(0, 8)), StartCheck::kPrefix);
  EXPECT_EQ(CheckCommandStart(s.substr(0, 9)), StartCheck::kValid);
  EXPECT_EQ(CheckCommandStart("*2\r\n$3\r\n123"), StartCheck::kInvalid);
  EXPECT_EQ(CheckCommandStart("*0\r\n$3\r\nGET"), StartCheck::kInvalid);
  EXPECT_EQ(CheckCommandStart("*2\r\n:3\r\n"), StartCheck::kInvalid);
  EXPECT_EQ(CheckCommandStart("*12345678901\r\n"), StartCheck::kInvalid);

  bool complete = false;
  EXPECT_EQ(FindCommandStart("xx*1*2\r\n$4\r\nPING\r\n", 0, &complete), 4u);
  EXPECT_TRUE(complete);
  EXPECT_EQ(FindCommandStart("garbage *3\r\n$", 0, &complete), 8u);
  EXPECT_FALSE(complete);
  EXPECT_EQ(FindCommandStart("no star here", 0, &complete), std::string_view::npos);
  EXPECT_EQ(FindCommandStart("*1\r\n$4\r\nPING", 1, &complete), std::string_view::npos);
}

TEST(RedisParser, ClassifyCommandStart) {
  EXPECT_EQ(ClassifyCommandStart("*1\r\n$4\r\nPING\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyCommandStart("*3\r\n$3\r\nset\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyCommandStart("*1\r\n$"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyCommandStart(""), StartKind::kMaybe);
  EXPECT_EQ(ClassifyCommandStart("PING\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyCommandStart("ping\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyCommandStart("HSET h f v\r\n"), StartKind::kYes);
  // Memcached says "get k" / "set k 0 0 5" too: the replies decide.
  EXPECT_EQ(ClassifyCommandStart("SET a b\r\n"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyCommandStart("get key\r\n"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyCommandStart("QUIT\r\n"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyCommandStart("PIN"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyCommandStart("GET /index.html"), StartKind::kMaybe);
  // Never another protocol's first bytes.
  EXPECT_EQ(ClassifyCommandStart("GET / HTTP/1.1\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart("SETUP rtsp://cam/ RTSP/1.0\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart("POST /x HTTP/1.1\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart("HTTP/1.1 200 OK\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart("EHLO mail.example.com\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart("SSH-2.0-OpenSSH_9.2\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart(std::string("\x16\x03\x01\x02\x00\x01", 6)), StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart(std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8)),
            StartKind::kNo);
  EXPECT_EQ(ClassifyCommandStart("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), StartKind::kNo);
  // RESP2 pub/sub messages look like commands but are replies.
  EXPECT_EQ(ClassifyCommandStart("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n"), StartKind::kNo);
}

TEST(RedisParser, ClassifyReplyStart) {
  EXPECT_EQ(ClassifyReplyStart("+OK\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("+PONG\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("+OK"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyReplyStart("+OK POP3 server ready\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyReplyStart("-ERR unknown command 'x'\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("-WRONGTYPE Operation\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("-ER"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyReplyStart("-ERR no line end yet"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyReplyStart("-FOO bar\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyReplyStart(":1234\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart(":12"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyReplyStart("$5\r\nhello\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("$5\r\nhelloXX"), StartKind::kNo);
  EXPECT_EQ(ClassifyReplyStart("$-1\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("$5000\r\nabc"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("*2\r\n$3\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("*2\r\nX"), StartKind::kNo);
  EXPECT_EQ(ClassifyReplyStart("%7\r\n$6\r\nserver"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("_\r\n"), StartKind::kYes);
  EXPECT_EQ(ClassifyReplyStart("HTTP/1.1 200 OK\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyReplyStart("#t\r\n"), StartKind::kNo);  // too little to go on
}

// First bytes of other protocols a service talks, each direction.
TEST(RedisParser, OtherProtocolsAreNotClaimed) {
  const std::string samples[] = {
      "GET /api HTTP/1.1\r\nHost: x\r\n\r\n",
      "HTTP/1.1 404 Not Found\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // TLS ClientHello
      std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8),               // Postgres SSLRequest
      std::string("\x00\x00\x00\x29\x00\x03\x00\x00user\0app\0", 19),   // Postgres startup
      std::string("Q\x00\x00\x00\x0dSELECT 1\0", 14),                   // Postgres query
      std::string("R\x00\x00\x00\x08\x00\x00\x00\x00", 9),              // Postgres AuthOk
      std::string("\x4a\x00\x00\x00\x0a"
                  "8.0.36\0",
                  12),                          // MySQL greeting
      std::string("\x80\x00\x00\x03get\0", 9),  // memcached binary
      "VALUE k 0 5\r\nhello\r\nEND\r\n",        // memcached reply
      "STORED\r\n",
      "220 mail.example.com ESMTP\r\n",
      "+OK POP3 server ready\r\n",
      "* OK IMAP4rev1 ready\r\n",
      "a001 LOGIN user pass\r\n",
      "SSH-2.0-OpenSSH_9.2p1\r\n",
      std::string("AMQP\x00\x00\x09\x01", 8),
      "{\"jsonrpc\":\"2.0\"}",
  };
  for (const std::string& s : samples) {
    for (Direction d : {Direction::kEgress, Direction::kIngress}) {
      EXPECT_NE(RedisDecoder::Infer(d, s).verdict, InferVerdict::kYes) << s;
    }
  }
}

TEST(RedisParser, RandomBytesAreNotClaimed) {
  uint64_t x = 88172645463325252ull;  // xorshift: the same bytes every run
  int claimed = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string s(1 + i % 64, '\0');
    for (char& c : s) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    claimed += RedisDecoder::Infer(Direction::kEgress, s).verdict == InferVerdict::kYes;
  }
  EXPECT_EQ(claimed, 0);
}

TEST(RedisParser, InferImpliesTheRole) {
  auto infer = [](Direction d, std::string_view b) { return RedisDecoder::Infer(d, b); };
  InferResult r = infer(Direction::kEgress, "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(r.verdict, InferVerdict::kYes);
  EXPECT_EQ(r.role, Role::kClient);
  r = infer(Direction::kIngress, "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(r.role, Role::kServer);
  r = infer(Direction::kEgress, "+PONG\r\n");
  EXPECT_EQ(r.verdict, InferVerdict::kYes);
  EXPECT_EQ(r.role, Role::kServer);
  r = infer(Direction::kIngress, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
  EXPECT_EQ(r.verdict, InferVerdict::kYes);
  EXPECT_EQ(r.role, Role::kClient);  // a subscriber receiving a message
  EXPECT_EQ(infer(Direction::kEgress, "*").verdict, InferVerdict::kNeedMore);
  EXPECT_EQ(infer(Direction::kEgress, "+").verdict, InferVerdict::kNeedMore);
  EXPECT_EQ(infer(Direction::kEgress, "GET / HTTP/1.1\r\n").verdict, InferVerdict::kNo);
  EXPECT_EQ(infer(Direction::kEgress, std::string(64, '\0')).verdict, InferVerdict::kNo);
}

}  // namespace
}  // namespace sonde::redis
