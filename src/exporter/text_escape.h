// Making captured bytes safe for the places spans are written to.
//
// Span names and attribute values come from captured traffic, so they can hold
// any bytes: invalid UTF-8, NUL, terminal escape sequences. Each sink has its
// own rule for what it accepts, and these helpers apply it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sonde {

// Length of the well-formed UTF-8 sequence starting at s[0], or 0 when the
// bytes there are not one (overlong forms, surrogates and code points above
// U+10FFFF are rejected, as in RFC 3629).
size_t Utf8SequenceLength(std::string_view s);

bool IsValidUtf8(std::string_view s);

// Returns s with every byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD. Protobuf `string` fields must be UTF-8: a collector
// rejects the whole request when one span carries a raw byte.
std::string ToValidUtf8(std::string_view s);

// Appends s as a quoted JSON string. Control characters use \n-style or
// \u00XX escapes; a byte that is not valid UTF-8 is written as the six
// characters \\xNN (an escaped backslash, then xNN), which keeps the output
// valid JSON while showing the original byte to a reader.
void AppendJsonString(std::string& out, std::string_view s);

// Appends s for display on a terminal: valid UTF-8 is kept, while control
// characters (ESC especially, which could rewrite the user's screen) and
// invalid bytes are shown as \n, \t, \r or \xNN.
void AppendPrintable(std::string& out, std::string_view s);

}  // namespace sonde
