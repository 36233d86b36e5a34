#include "exporter/text_escape.h"

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

}  // namespace
}  // namespace sonde
