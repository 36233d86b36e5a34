// A TCP relay for tests that need to see what crosses the wire: it forwards
// connections from its own port to a target port on 127.0.0.1 and counts the
// bytes sent in each direction (e.g. to check that a gRPC call is compressed).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace sonde::testing {

class TcpProxy {
 public:
  // Throws std::runtime_error when it cannot listen.
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  uint64_t bytes_to_target() const { return to_target_.load(); }
  uint64_t bytes_from_target() const { return from_target_.load(); }

 private:
  void AcceptLoop();
  void Relay(int client, int upstream);

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<uint64_t> to_target_{0};
  std::atomic<uint64_t> from_target_{0};
  std::thread acceptor_;
  std::vector<std::thread> relays_;  // touched by the acceptor thread only, until joined
};

}  // namespace sonde::testing
