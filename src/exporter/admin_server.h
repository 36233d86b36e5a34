// A small HTTP/1.1 server for operators and orchestrators, on its own thread:
//   GET /metrics  the RED metrics and self-metrics in the Prometheus text format
//   GET /healthz  200 "ok" once SetReady(true) was called (the agent does when
//                 every probe is attached), else 503
// One connection at a time, each closed after its answer: scrapes and probes
// are rare and small. A client that does not send its request within the
// read timeout is dropped, so it cannot hold the server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metric_data.h"

namespace sonde {

struct AdminServerOptions {
  std::string bind_address = "127.0.0.1";  // an IPv4 or IPv6 literal ("0.0.0.0", "::")
  uint16_t port = 9464;                    // 0: any free port (see port())
  std::chrono::milliseconds read_timeout{2000};
};

class AdminServer {
 public:
  // `producers` are collected on every /metrics request, from the server's
  // thread; they must outlive the server.
  AdminServer(AdminServerOptions options, std::vector<MetricProducer*> producers);
  ~AdminServer();  // Stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving. False, with *error naming the address, when
  // the socket cannot be bound (in use, bad address).
  bool Start(std::string* error);
  // Stops the thread and closes the socket. Idempotent.
  void Stop();

  void SetReady(bool ready) { ready_.store(ready, std::memory_order_release); }
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // The port actually bound (meaningful after Start, also with port 0).
  uint16_t port() const { return bound_port_; }

 private:
  void Run();
  void Serve(int fd);
  std::string Respond(const std::string& method, const std::string& path, bool* head_only);

  AdminServerOptions options_;
  std::vector<MetricProducer*> producers_;
  std::atomic<bool> ready_{false};
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop wakes the poll with it
  uint16_t bound_port_ = 0;
  std::thread thread_;
};

}  // namespace sonde
