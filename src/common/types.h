// Plain value types shared by every stage of the pipeline.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sonde {

// Which way bytes went, seen from the traced process.
enum class Direction : uint8_t { kEgress = 0, kIngress = 1 };

// The traced process's side of a TCP connection.
enum class Role : uint8_t { kUnknown = 0, kClient = 1, kServer = 2 };

const char* RoleName(Role r);

// A connection is (process, fd, generation); the process start time keeps the
// identity unique across pid reuse, the generation across fd reuse.
struct ConnKey {
  uint32_t pid = 0;
  uint64_t pstart_ns = 0;
  int32_t fd = -1;
  uint32_t gen = 0;
  bool operator==(const ConnKey& o) const {
    return pid == o.pid && pstart_ns == o.pstart_ns && fd == o.fd && gen == o.gen;
  }
};

struct ConnKeyHash {
  size_t operator()(const ConnKey& k) const {
    uint64_t h = k.pid;
    h = h * 0x9E3779B97F4A7C15ull ^ k.pstart_ns;
    h = h * 0x9E3779B97F4A7C15ull ^ static_cast<uint32_t>(k.fd);
    h = h * 0x9E3779B97F4A7C15ull ^ k.gen;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

// What user space knows about one connection.
struct ConnInfo {
  ConnKey key;
  Role role = Role::kUnknown;
  bool role_inferred = false;  // true when the role came from the traffic, not accept/connect
  // The bytes are TLS plaintext captured by the SSL_read/SSL_write uprobes
  // (the encrypted bytes of the same socket are not decoded).
  bool tls = false;
  std::string local_addr;      // textual IP ("127.0.0.1", "::1")
  uint16_t local_port = 0;
  std::string peer_addr;
  uint16_t peer_port = 0;
};

// A slice of one direction of a byte stream, as captured by one syscall.
// `pos` is the stream offset of the first byte; `total_len` is how many bytes
// the syscall really moved. When total_len > data.size() the rest was not
// captured (cap exceeded): those bytes are a known-length hole.
struct DataChunk {
  uint64_t pos = 0;
  uint32_t total_len = 0;
  std::string_view data;
  uint64_t ts_ns = 0;  // CLOCK_MONOTONIC of the syscall
  uint32_t tid = 0;
};

}  // namespace sonde
