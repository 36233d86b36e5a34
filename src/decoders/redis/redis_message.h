// One Redis command and its reply, as decoded from RESP2/RESP3 bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sonde {

struct RedisCommand {
  // Command name and arguments as sent; each argument is cut to a bounded
  // length and only the first few arguments are kept (see arg_count).
  std::vector<std::string> args;
  uint64_t arg_count = 0;  // true number of arguments including the name
  bool inline_command = false;
  // Arguments from args.size() on were secrets (AUTH, HELLO ... AUTH, ACL
  // SETUSER rules, ...) and were never kept, not even in part.
  bool redacted = false;
  // Framing was lost inside the command (uncaptured bytes, garbage): the
  // arguments seen are kept, the end is where the loss was noticed.
  bool truncated = false;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t tid = 0;
  uint64_t pos = 0;  // stream position of the command's first byte
};

struct RedisReply {
  char type = 0;           // RESP type byte of the top-level reply ('+', '-', ':', '$', '*', '%', ...)
  std::string error;       // full error text for '-' and '!' replies ("WRONGTYPE Operation ...")
  int64_t elements = -1;   // aggregate size for arrays/maps/sets, -1 otherwise
  bool null = false;
  // Text of a '+' simple string ("OK", "QUEUED"), or of a ':' ',' '(' '#'
  // scalar, cut to a bounded length. Bulk values are never kept.
  std::string text;
  bool truncated = false;  // framing lost inside the reply; its end is a guess
  uint64_t size = 0;       // payload bytes of a '$' '=' '!' reply, captured or not
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t tid = 0;
};

struct RedisExchange {
  RedisCommand command;
  std::optional<RedisReply> reply;  // absent: the connection ended first
  int64_t db_index = 0;             // database selected on the connection (SELECT), 0 by default
  bool db_index_known = true;       // false when the connection predates sonde and no SELECT was seen
  // Sent between MULTI and EXEC/DISCARD: the reply is QUEUED (or a queueing
  // error); the command's result is part of EXEC's reply.
  bool in_transaction = false;
  // CLIENT REPLY OFF/SKIP was in effect: the server sends no reply on purpose.
  bool reply_suppressed = false;
};

}  // namespace sonde
