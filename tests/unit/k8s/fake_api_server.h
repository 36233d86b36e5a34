// A fake Kubernetes API server for the pod list/watch tests: a real one
// cannot run here. It serves /api/v1/pods in the real API's shape (PodList
// with metadata.resourceVersion and continue-less pages; watch streams of
// chunked {"type","object"} lines; ERROR events with a 410 Status when the
// requested resourceVersion is older than its history), over plain HTTP or,
// given a certificate, HTTPS.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sonde::testing {

class FakeApiServer {
 public:
  // cert_pem/key_pem: files for TLS; empty: plain HTTP.
  explicit FakeApiServer(const std::string& cert_pem = "", const std::string& key_pem = "");
  ~FakeApiServer();

  std::string url() const;
  // Pod changes, each with the next resourceVersion, seen by list and watch.
  void AddPod(nlohmann::json pod);
  void ModifyPod(nlohmann::json pod);
  void DeletePod(const std::string& uid);
  // Ends every open watch stream mid-response (a dropped connection).
  void DropWatches();
  // Forgets history: watches from an older resourceVersion get 410 Gone.
  void CompactHistory();
  // While unavailable every request gets 503 (an API server restarting).
  void SetAvailable(bool available);

  struct Request {
    std::string target;         // "/api/v1/pods?watch=1&..."
    std::string authorization;  // the Authorization header
  };
  std::vector<Request> requests() const;
  int open_watches() const { return open_watches_.load(); }

 private:
  struct Conn;
  void Accept();
  void Serve(int fd);
  void Event(const char* type, nlohmann::json pod);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, kept opaque so the header needs no OpenSSL
  std::atomic<bool> stop_{false};
  std::atomic<int> open_watches_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t rv_ = 100;
  uint64_t compacted_rv_ = 0;
  uint64_t drop_generation_ = 0;
  bool available_ = true;
  std::map<std::string, nlohmann::json> pods_;               // by uid
  std::vector<std::pair<uint64_t, std::string>> history_;  // rv -> watch event line
  std::vector<Request> requests_;
};

}  // namespace sonde::testing
