// Helpers for the PostgreSQL decoder tests: capture loading, builders of wire
// messages, a Feeder that drives one decoder the way the loader would
// (per-direction stream positions, capped syscalls, lost events), and a
// stable text form of exchanges so whole results compare at once.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/types.h"
#include "decoders/message.h"
#include "decoders/postgres/pg_decoder.h"

namespace sonde::test {

// Bytes of tests/captures/postgres/<name>; fails the test when missing.
std::string ReadCapture(const std::string& name);

ConnInfo MakeConn(Role role, uint32_t pid = 100, int32_t fd = 7);

const PgExchange& Ex(const Message& m);

// One line per exchange, without timestamps unless asked, so results of
// different chunkings of the same bytes compare equal.
std::string Dump(const std::vector<Message>& msgs, bool with_times = false);

// Wire builders (frontend and backend messages).
namespace wire {
std::string U32(uint32_t v);
std::string U16(uint16_t v);
std::string Msg(char type, std::string_view body);
std::string Startup(std::initializer_list<std::pair<std::string, std::string>> params);
std::string SslRequest();
std::string GssEncRequest();
std::string CancelRequest(uint32_t pid, uint32_t key);
std::string Query(std::string_view text);
std::string Parse(std::string_view name, std::string_view text);
std::string Bind(std::string_view portal, std::string_view statement,
                 std::initializer_list<std::string> params = {});
std::string Describe(char kind, std::string_view name);
std::string Execute(std::string_view portal = "", uint32_t max_rows = 0);
std::string Close(char kind, std::string_view name);
std::string Sync();
std::string Flush();
std::string Terminate();
std::string CopyData(std::string_view data);
std::string CopyDone();
std::string CopyFail(std::string_view why);
std::string Password(std::string_view pw);

std::string AuthOk();
std::string ParameterStatus(std::string_view name, std::string_view value);
std::string BackendKeyData(uint32_t pid, uint32_t key);
std::string Ready(char status = 'I');
std::string ParseComplete();
std::string BindComplete();
std::string CloseComplete();
std::string NoData();
std::string RowDescription(std::initializer_list<std::string> columns);
std::string DataRow(std::initializer_list<std::string> values);
std::string Complete(std::string_view tag);
std::string EmptyQuery();
std::string Suspended();
std::string Error(std::string_view sqlstate, std::string_view message,
                  std::string_view severity = "ERROR");
std::string Notice(std::string_view message);
std::string CopyInResponse();
std::string CopyOutResponse();
// A fresh trust-auth session: AuthenticationOk ... ReadyForQuery.
std::string Welcome();
}  // namespace wire

// Drives one decoder the way the loader would: positions advance per
// direction, chunks may be capped (holes) and events may be lost (gaps).
class Feeder {
 public:
  explicit Feeder(Role role, DecoderLimits limits = {});

  // Sends `bytes` as one syscall; only the first `captured` bytes reach user
  // space (the rest is a known-length hole).
  void Send(Direction dir, std::string_view bytes, uint64_t ts_ns = 0, uint32_t tid = 1,
            size_t captured = SIZE_MAX);
  // Frontend/backend shorthands for this feeder's role.
  void Fe(std::string_view bytes, size_t captured = SIZE_MAX) { Send(fe_dir(), bytes, 0, 1, captured); }
  void Be(std::string_view bytes, size_t captured = SIZE_MAX) { Send(be_dir(), bytes, 0, 1, captured); }
  // `n` bytes moved on the wire whose event was lost.
  void Lose(Direction dir, uint64_t n) { pos_[Idx(dir)] += n; }
  void SendAt(Direction dir, uint64_t pos, std::string_view bytes, uint64_t ts_ns = 0);
  void Close(uint64_t ts_ns = 0) { dec_.OnClose(ts_ns != 0 ? ts_ns : ++auto_ts_); }
  std::vector<Message> Drain();

  PgDecoder& decoder() { return dec_; }
  const DecodeCounters& counters() const { return counters_; }
  Direction fe_dir() const;
  Direction be_dir() const;

 private:
  static int Idx(Direction d) { return static_cast<int>(d); }
  uint64_t NextTs(uint64_t ts_ns) { return ts_ns != 0 ? ts_ns : ++auto_ts_; }

  DecodeCounters counters_;
  PgDecoder dec_;
  Role role_;
  uint64_t pos_[2] = {0, 0};
  uint64_t auto_ts_ = 1000;
  std::deque<std::string> store_;  // keeps chunk bytes alive (DataChunk holds a view)
};

// Decodes a recorded connection: the client's bytes, then the server's, each
// cut into pieces at `cuts` (sorted offsets), as a traced client would see them.
std::vector<Message> DecodeCapture(std::string_view fe, std::string_view be,
                                   const std::vector<size_t>& fe_cuts = {},
                                   const std::vector<size_t>& be_cuts = {},
                                   DecodeCounters* counters = nullptr, Role role = Role::kClient);

}  // namespace sonde::test
