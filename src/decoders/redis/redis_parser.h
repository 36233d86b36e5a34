// Stateless pieces of RESP2/RESP3 framing: type lines, inline commands,
// which arguments are secrets, and the start checks used for protocol
// inference and resynchronisation. Everything works on a view and reports
// how much it would consume; callers commit only on success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/redis/redis_message.h"

namespace sonde::redis {

// Bounds that keep per-connection memory and work limited whatever arrives.
inline constexpr size_t kMaxKeptArgs = 8;      // command name + first arguments kept
inline constexpr size_t kMaxArgBytes = 256;    // bytes kept of each kept argument
inline constexpr size_t kMaxErrorBytes = 512;  // error text kept
inline constexpr size_t kMaxTextBytes = 64;    // simple string / number text kept
inline constexpr size_t kMaxWordBytes = 16;    // first element of a reply array (pub/sub kind)
inline constexpr size_t kMaxDepth = 32;        // aggregate nesting
// Redis refuses inline commands and type lines longer than 64 KiB itself
// (PROTO_INLINE_MAX_SIZE); a simple string or error longer than that is not RESP.
inline constexpr size_t kMaxLineBytes = 64 * 1024;
// Redis's default proto-max-bulk-len: no stored value or argument is larger.
inline constexpr int64_t kMaxBulkBytes = int64_t{512} * 1024 * 1024;
// Aggregate sizes are only counted down, never allocated; this just rejects
// lengths no server sends (Redis caps multibulk lengths at INT_MAX).
inline constexpr int64_t kMaxElements = 0x7fffffff;

enum class ParseState { kNeedsMoreData, kInvalid, kSuccess };

// One RESP type line: the type byte and what follows it up to CRLF.
struct TypeLine {
  char type = 0;
  // Length for '$' '!' '=' (-1: null), element count for '*' '~' '>' (-1:
  // null array), pair count for '%' '|', the value for ':'.
  int64_t n = 0;
  std::string_view text;  // the line without type byte and CRLF
};

// Parses a type line of any RESP3 type, validating its content. `buf` must
// start at the type byte.
ParseState ParseTypeLine(std::string_view buf, TypeLine* out, size_t* consumed);

bool IsReplyTypeByte(char c);
bool IsAggregateType(char c);  // '*' '%' '~' '>' '|'
bool IsBulkType(char c);       // '$' '!' '='

// An inline command: one line (LF or CRLF terminated) split into arguments
// the way redis-server does (blanks separate, "..." with \-escapes and '...'
// quote). Fills cmd->args (bounded, secrets left out), arg_count, redacted
// and inline_command. *blank is set for an empty line, which Redis ignores.
// kInvalid for unbalanced quotes, a line over kMaxLineBytes, or a first word
// that is not a command name.
ParseState ParseInlineCommand(std::string_view buf, RedisCommand* cmd, bool* blank,
                              size_t* consumed);

// Appends argument `index` of `cmd` (whose bytes are `value`, possibly only
// a prefix) unless it is past kMaxKeptArgs or a secret; marks cmd->redacted
// at the first secret. Returns where later bytes of the argument go, or
// nullptr when they are not kept.
std::string* KeepArg(RedisCommand* cmd, size_t index, std::string_view value);

// Command names look like "GET", "CLIENT", "JSON.SET", "cms.incrby".
bool IsCommandNameChar(char c);

// Whether argument `index` (0 = command name) of a command whose kept
// arguments so far are `kept` is a secret (a password or ACL rule); when it
// is, it and every later argument must not be kept.
bool IsSecretArg(const std::vector<std::string>& kept, size_t index);

// How far a view matches "*<count>\r\n$<len>\r\n<letter>" — the start of a
// command as every client sends it.
enum class StartCheck { kInvalid, kPrefix, kValid };
StartCheck CheckCommandStart(std::string_view buf);

// Position of the next plausible command start at or after `from`. Sets
// *complete when the whole check passed; otherwise the returned position
// begins a valid prefix reaching the end of `buf`. npos when none.
size_t FindCommandStart(std::string_view buf, size_t from, bool* complete);

// Protocol inference on the first bytes of one direction.
enum class StartKind { kNo, kMaybe, kYes };
// Commands: a multibulk start, or an inline line starting with a well-known
// command name (never a line that ends like an HTTP/RTSP/SIP request line).
StartKind ClassifyCommandStart(std::string_view data);
// Replies: a short list of first lines only Redis sends ("+OK", "-ERR ...",
// ":5", "$3", "*2" followed by a type byte, a RESP3 map, ...).
StartKind ClassifyReplyStart(std::string_view data);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToUpperAscii(std::string_view s);

}  // namespace sonde::redis
