// Stateless pieces of HTTP/1.x framing: start lines, header blocks, chunk
// framing, body length rules, and the start-line checks used for protocol
// inference and resynchronisation. Everything works on a view and reports
// how much it would consume; callers commit only on success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "decoders/message.h"

namespace sonde::http1 {

// Bounds that keep per-connection memory and work limited whatever arrives.
inline constexpr size_t kMaxHeadBytes = 64 * 1024;  // start line + header fields + blank line
inline constexpr size_t kMaxStartLineBytes =
    16 * 1024;  // long URLs beyond this are not HTTP we track
inline constexpr size_t kMaxMethodBytes = 24;
inline constexpr size_t kMaxChunkLineBytes = 4 * 1024;  // chunk size plus extensions
inline constexpr size_t kMaxHeaders = 256;              // fields kept per message; framing sees all

enum class ParseState { kNeedsMoreData, kInvalid, kSuccess };

// How far a view matches the start of a line of some kind.
enum class LineCheck { kInvalid, kPrefix, kValid };

// "METHOD SP request-target SP HTTP/1.x" EOL. Methods are upper-case tokens.
LineCheck CheckRequestLine(std::string_view buf);
// "HTTP/1.x SP 3DIGIT [SP reason]" EOL.
LineCheck CheckStatusLine(std::string_view buf);

// The same checks, cheap to repeat as a line arrives piece by piece: *scan
// remembers how far the search for the line end got (start it at 0). Until
// the line is complete only its first bytes are checked, so a bad byte deep
// in a long target is found when the line ends or grows past the limit.
LineCheck CheckStartLine(std::string_view buf, bool requests, size_t* scan);

// What the first bytes of a direction of a connection look like.
enum class StartKind { kNo, kMaybe, kRequest, kResponse };
StartKind ClassifyStart(std::string_view data);

// Position of the next plausible message start (request line or status line)
// at or after `from`. Sets *complete when the whole start line is there;
// otherwise the returned position begins a valid prefix reaching the end of
// `buf`. npos when nothing plausible is left.
size_t FindMessageStart(std::string_view buf, bool requests, size_t from, bool* complete);

// Offset just past the blank line that ends a header (or trailer) block, or
// npos. *scan_from carries progress across calls so re-scans stay linear;
// start it at 0 for a new block.
size_t FindBlockEnd(std::string_view buf, size_t* scan_from);

struct RequestHead {
  std::string method;
  std::string target;
  std::string version;  // "1.1"
  HeaderList headers;
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  std::string version;
  HeaderList headers;
};

// `block` is a complete head as delimited by FindBlockEnd. Return false when
// anything in it is malformed.
bool ParseRequestHead(std::string_view block, RequestHead* out);
bool ParseResponseHead(std::string_view block, ResponseHead* out);
// Header fields only (trailer section), appended to *out.
bool ParseFields(std::string_view block, HeaderList* out);

// chunk-size [chunk-ext] EOL.
ParseState ParseChunkSizeLine(std::string_view buf, uint64_t* size, size_t* consumed);
// The EOL that follows chunk data.
ParseState ParseLineEnd(std::string_view buf, size_t* consumed);

enum class BodyKind { kNone, kLength, kChunked, kUntilClose };
struct BodyFraming {
  BodyKind kind = BodyKind::kNone;
  uint64_t length = 0;
};

// RFC 9112 section 6. False when framing headers are malformed or conflict.
bool RequestFraming(const HeaderList& headers, BodyFraming* out);
// For final (non-1xx) responses; `request_method` is the method of the
// request being answered, empty when unknown.
bool ResponseFraming(const HeaderList& headers, int status, std::string_view request_method,
                     BodyFraming* out);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace sonde::http1
