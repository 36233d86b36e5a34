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
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t tid = 0;
};

struct RedisReply {
  char type = 0;           // RESP type byte of the top-level reply ('+', '-', ':', '$', '*', '%', ...)
  std::string error;       // full error text for '-' and '!' replies ("WRONGTYPE Operation ...")
  int64_t elements = -1;   // aggregate size for arrays/maps/sets, -1 otherwise
  bool null = false;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t tid = 0;
};

struct RedisExchange {
  RedisCommand command;
  std::optional<RedisReply> reply;  // absent: the connection ended first
  int64_t db_index = 0;             // database selected on the connection (SELECT), 0 by default
  bool db_index_known = true;       // false when the connection predates sonde and no SELECT was seen
};

}  // namespace sonde
