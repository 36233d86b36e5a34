#include "exporter/text_escape.h"

#include <random>

#include <gtest/gtest.h>

namespace sonde {
namespace {

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string Printable(std::string_view s) {
  std::string out;
  AppendPrintable(out, s);
  return out;
}

TEST(Utf8, SequenceLengths) {
  EXPECT_EQ(Utf8SequenceLength("a"), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC3\xA9"), 2u);          // é
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82\xAC"), 3u);      // €
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80"), 4u);  // emoji
  EXPECT_EQ(Utf8SequenceLength(""), 0u);
  EXPECT_EQ(Utf8SequenceLength("\x80"), 0u);              // lone continuation
  EXPECT_EQ(Utf8SequenceLength("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(Utf8SequenceLength("\xE0\x80\xAF"), 0u);      // overlong
  EXPECT_EQ(Utf8SequenceLength("\xED\xA0\x80"), 0u);      // surrogate
  EXPECT_EQ(Utf8SequenceLength("\xF4\x90\x80\x80"), 0u);  // > U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82"), 0u);          // truncated
  EXPECT_EQ(Utf8SequenceLength("\xFF"), 0u);
}

TEST(Utf8, ToValidUtf8ReplacesOnlyBadBytes) {
  EXPECT_EQ(ToValidUtf8("plain /users/42"), "plain /users/42");
  EXPECT_EQ(ToValidUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(ToValidUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ToValidUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8(std::string("\x00\x80\xC0\xFE", 4))));
}

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Json("abc"), "\"abc\"");
  EXPECT_EQ(Json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Json("l1\nl2\r\t\b\f"), "\"l1\\nl2\\r\\t\\b\\f\"");
  EXPECT_EQ(Json(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(Json("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
}

// Long runs of plain text are scanned 16 bytes at a time: a byte that needs
// escaping is found at every position of a long string, as in a short one.
TEST(JsonString, LongStringsEscapeEveryPosition) {
  const std::string kSpecial[] = {std::string(1, '\0'), "\x1f", "\"", "\\", "\x7f", "\xff", "\xC3\xA9"};
  for (const std::string& special : kSpecial) {
    std::string alone = Json(special);
    std::string inner = alone.substr(1, alone.size() - 2);
    for (size_t pos = 0; pos < 48; ++pos) {
      std::string in = std::string(pos, 'a') + special + std::string(47 - pos, 'b');
      ASSERT_EQ(Json(in), "\"" + std::string(pos, 'a') + inner + std::string(47 - pos, 'b') + "\"")
          << "byte " << static_cast<int>(static_cast<unsigned char>(special[0])) << " at " << pos;
    }
  }
}

TEST(JsonString, InvalidUtf8BecomesVisibleEscapedText) {
  // The byte 0xFF turns into the JSON text \\xff (a literal backslash + "xff").
  EXPECT_EQ(Json("a\xFF"), "\"a\\\\xff\"");
  EXPECT_EQ(Json("\xC0\xAF"), "\"\\\\xc0\\\\xaf\"");
}

TEST(Printable, NeutralizesTerminalEscapes) {
  EXPECT_EQ(Printable("GET /x"), "GET /x");
  EXPECT_EQ(Printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(Printable("a\nb\tc"), "a\\nb\\tc");
  EXPECT_EQ(Printable("\xC2\x9B" "2J"), "\\xc2\\x9b2J");  // C1 CSI
  EXPECT_EQ(Printable("caf\xC3\xA9 \xFF"), "caf\xC3\xA9 \\xff");
}

// Arbitrary bytes, biased towards the interesting ranges (controls, UTF-8
// lead and continuation bytes), must always come out safe.
TEST(EscapeProperties, RandomBytesAlwaysComeOutSafe) {
  std::mt19937 rng(12345);
  const unsigned char kInteresting[] = {0x00, 0x1b, 0x0a, 0x22, 0x5c, 0x7f, 0x80, 0x9b, 0xbf,
                                        0xc2, 0xc3, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  for (int iter = 0; iter < 20000; ++iter) {
    std::string in(rng() % (iter % 2 ? 12 : 64), '\0');  // some longer than one 16-byte scan
    for (char& c : in) {
      c = static_cast<char>(rng() % 2 ? kInteresting[rng() % sizeof kInteresting] : rng() % 256);
    }
    std::string valid = ToValidUtf8(in);
    ASSERT_TRUE(IsValidUtf8(valid));
    if (IsValidUtf8(in)) {
      ASSERT_EQ(valid, in);
    }

    std::string json = Json(in);
    ASSERT_TRUE(IsValidUtf8(json));
    ASSERT_EQ(json.front(), '"');
    ASSERT_EQ(json.back(), '"');
    for (size_t i = 1; i + 1 < json.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(json[i]);
      ASSERT_TRUE(c >= 0x20 && c != 0x7f);
      if (c == '\\') {
        ++i;  // an escape: the next character is part of it
        ASSERT_NE(std::string("\"\\/bfnrtu").find(json[i]), std::string::npos);
      } else {
        ASSERT_NE(c, '"');
      }
    }

    std::string shown = Printable(in);
    ASSERT_TRUE(IsValidUtf8(shown));
    for (size_t i = 0; i < shown.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(shown[i]);
      ASSERT_TRUE(c >= 0x20 && c != 0x7f);
      // No C1 control either (U+0080..U+009F is C2 80..C2 9F in UTF-8).
      if (c == 0xC2 && i + 1 < shown.size()) {
        ASSERT_GE(static_cast<unsigned char>(shown[i + 1]), 0xA0);
      }
    }
  }
}

}  // namespace
}  // namespace sonde
