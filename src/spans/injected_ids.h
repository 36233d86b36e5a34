// Span identities the kernel sent: when propagation.inject_traceparent is on,
// sonde's sk_msg program inserts a traceparent into outgoing HTTP/1 requests
// and reports the ids it chose (bpf/inject.bpf.h). The CLIENT span sonde
// builds for such a request must carry exactly those ids, or the callee's
// spans would hang under a span that does not exist.
//
// The kernel's report names the connection by process and addresses (sk_msg
// knows the socket, not the file descriptor) and the request by the egress
// stream offset of its first byte; the HTTP/1 decoder records the same offset
// (HttpRequest::pos). The report arrives before the data of the write
// that carried the request, so it is always waiting when the span is built.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <tuple>

#include "decoders/message.h"
#include "spans/span.h"

namespace sonde {

// One traceparent sonde inserted, as the kernel reported it.
struct InjectedContext {
  uint32_t pid = 0;
  std::string local_addr;
  uint16_t local_port = 0;
  std::string peer_addr;
  uint16_t peer_port = 0;
  uint64_t stream_pos = 0;  // egress offset of the request's first byte
  TraceId trace_id{};
  SpanId span_id{};         // the CLIENT span's own id (the header's parent-id)
  SpanId parent_id{};       // zero: the CLIENT span is a root
  uint8_t flags = 0;
  uint64_t ts_ns = 0;       // monotonic, when it was sent
};

struct InjectedIdsStats {
  uint64_t reported = 0;  // reports received
  uint64_t applied = 0;   // CLIENT spans that took injected ids
  uint64_t expired = 0;   // reports no span claimed in time
};

class InjectedIds {
 public:
  void Add(const InjectedContext& c);
  // When the message is an HTTP/1 CLIENT exchange whose request sonde gave a
  // traceparent, gives the span those ids (and sonde.traceparent.injected =
  // true) and returns true. The report is consumed.
  bool Apply(const Message& m, Span* span);
  // Forgets reports older than `max_age_ns` (their request was never decoded:
  // lost events, a process that exited).
  void Expire(uint64_t now_ns, uint64_t max_age_ns = 120'000'000'000ull);

  size_t size() const { return by_key_.size(); }
  const InjectedIdsStats& stats() const { return stats_; }

 private:
  using Key = std::tuple<uint32_t, uint16_t, uint16_t, std::string, std::string, uint64_t>;
  static Key KeyOf(uint32_t pid, const std::string& local_addr, uint16_t local_port, const std::string& peer_addr,
                   uint16_t peer_port, uint64_t pos);

  std::map<Key, InjectedContext> by_key_;
  std::deque<std::pair<uint64_t, Key>> by_age_;  // (ts, key), oldest first
  InjectedIdsStats stats_;
};

}  // namespace sonde
