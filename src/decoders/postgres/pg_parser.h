// Stateless pieces of the PostgreSQL v3 wire protocol: message headers, the
// structure checks used for inference and resynchronisation, and the parsers
// for the few message bodies sonde reads. Everything works on views; nothing
// here keeps state or allocates beyond its outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/postgres/pg_message.h"

namespace sonde::pg {

// Startup-phase packets carry no type byte: int32 length, int32 code.
inline constexpr uint32_t kProtocol30 = 196608;  // 3.0 in the StartupMessage
inline constexpr uint32_t kCancelRequestCode = 80877102;
inline constexpr uint32_t kSslRequestCode = 80877103;
inline constexpr uint32_t kGssEncRequestCode = 80877104;
// The server refuses startup packets longer than this.
inline constexpr uint32_t kMaxStartupPacket = 10000;
// The server refuses messages of 1 GiB and more; no longer length is plausible.
inline constexpr uint32_t kMaxMessageLength = 0x3fffffff;

// Bounds that keep per-connection memory limited whatever arrives.
inline constexpr size_t kMaxQueryText = 4096;          // query text kept per statement
inline constexpr size_t kMaxName = 256;                // statement/portal names kept
inline constexpr size_t kMaxParamValue = 256;          // user, database, application_name
inline constexpr size_t kMaxStatementsPerQuery = 64;   // statements split out of one Query
inline constexpr size_t kMaxPreparedStatements = 256;  // named statements per connection
inline constexpr size_t kMaxPortals = 64;              // named portals per connection
inline constexpr size_t kMaxErrorMessage = 512;

// Which end of the connection writes a message.
enum class Side : uint8_t { kFrontend, kBackend };

inline uint32_t ReadU32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}
inline uint16_t ReadU16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) << 8 |
                               static_cast<unsigned char>(p[1]));
}

// Message types each side may send in the typed (post-startup) phase.
bool IsMessageType(Side side, char type);

// How much of a message body the decoder keeps (the rest is skipped without
// being buffered): the text of queries, names, tags and error fields, never
// row data, copy data or anything password related.
size_t KeepLimit(Side side, char type);

enum class Check : uint8_t { kNo, kNeedMore, kYes };

// Whether `buf` starts with plausible typed messages of `side`: every
// complete message must be structurally exact, and the evidence must be
// specific enough (a strongly typed message, a long enough valid prefix, or a
// run of weaker ones) to tell PostgreSQL from other protocols and from random
// bytes. kNeedMore while more bytes could still change the verdict. Only
// the first 1 KiB is looked at, and a verdict, once given, stays as more bytes
// arrive (except that data ending exactly at a message boundary is judged as
// it stands), so how a stream is chunked rarely matters.
Check CheckMessages(Side side, std::string_view buf);

// Whether `buf` starts with a startup-phase packet (StartupMessage 3.x,
// SSLRequest, GSSENCRequest, CancelRequest).
Check CheckStartupPacket(std::string_view buf);

// A plausible startup packet header (length, code) that a stream may frame.
bool ValidStartupHeader(uint32_t length, uint32_t code);

struct StartupParams {
  std::string user;
  std::string database;
  std::string application_name;
};

// The parameters of a StartupMessage (body after the protocol code). Other
// parameters are ignored; values are cut at kMaxParamValue.
bool ParseStartupParams(std::string_view body, StartupParams* out);

// A NUL-terminated string at the front of *rest (consumed with its NUL).
bool TakeCString(std::string_view* rest, std::string_view* out);

// Parse: statement name and query text. `complete` is false when the body
// was cut (kept prefix or capture hole): the text is then what was seen.
bool ParseParse(std::string_view body, bool complete, std::string_view* name,
                std::string_view* query);
// Bind: portal and statement names.
bool ParseBind(std::string_view body, std::string_view* portal, std::string_view* statement);
// Execute: portal name.
bool ParseExecute(std::string_view body, std::string_view* portal);
// Close and Describe: 'S' (statement) or 'P' (portal) and the name.
bool ParseTarget(std::string_view body, char* kind, std::string_view* name);

// CommandComplete: the tag ("INSERT 0 1") and its row count (-1 when it has none).
bool ParseCommandTag(std::string_view body, std::string* tag, int64_t* rows);

// ErrorResponse fields: severity (the non-localized 'V', else 'S'), SQLSTATE
// ('C') and message ('M', cut at kMaxErrorMessage). A cut body yields the
// fields that are complete.
bool ParseErrorFields(std::string_view body, PgError* out);

// The statements of a simple Query, split at semicolons outside quotes,
// dollar quotes and comments, trimmed, without empty ones. At most `max`;
// *more is set when the text holds more than that.
std::vector<std::string_view> SplitStatements(std::string_view text, size_t max, bool* more);

}  // namespace sonde::pg
