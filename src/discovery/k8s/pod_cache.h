// The pods of this node, kept current from the Kubernetes API (list, then
// watch from the list's resourceVersion; relist on 410 Gone), answering
// "which pod and container is container id X".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "discovery/k8s/pod_meta.h"

namespace sonde {

struct KubeApiOptions {
  std::string api_server;  // "https://10.96.0.1:443"; "http://127.0.0.1:N" for a test server
  std::string token_path;  // bearer token file, re-read per request (kubelet rotates it); "" = none
  std::string ca_path;     // CA bundle for the API server's certificate; "" = the system's
  std::string node_name;   // only pods with spec.nodeName == this; "" = every pod (tests)
  std::chrono::milliseconds min_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  int watch_timeout_s = 300;  // the server ends each watch after this; sonde then resumes it
  std::chrono::milliseconds connect_timeout{5000};
  uint32_t page_size = 500;  // list pagination (limit/continue)
};

struct PodCacheStats {
  uint64_t lists = 0;         // complete lists (initial and relists)
  uint64_t watches = 0;       // watch requests made
  uint64_t events = 0;        // ADDED/MODIFIED/DELETED applied
  uint64_t gone = 0;          // 410 Gone: resourceVersion too old, relisted
  uint64_t errors = 0;        // failed requests (connection, HTTP status, bad JSON)
};

class PodCache {
 public:
  explicit PodCache(KubeApiOptions opts);
  ~PodCache();
  PodCache(const PodCache&) = delete;
  PodCache& operator=(const PodCache&) = delete;

  // Starts the background list/watch thread; Stop() (or the destructor) ends it.
  void Start();
  void Stop();
  // Waits for the first complete list; false on timeout.
  bool WaitSynced(std::chrono::milliseconds timeout);

  // Thread-safe lookups. ForContainer takes the id as the cgroup shows it
  // (64 hex digits, no "containerd://").
  std::optional<PodMeta> ForContainer(const std::string& container_id) const;
  std::optional<PodInfo> ForPodUid(const std::string& uid) const;
  size_t size() const;
  // Bumps on every change: a process whose container was unknown (pod not
  // seen yet) is worth looking up again when this moves.
  uint64_t generation() const { return generation_.load(); }
  PodCacheStats stats() const;
  std::string resource_version() const;

  // Direct updates, as the watch applies them (also for tests of the index).
  void ReplaceAll(std::vector<PodInfo> pods);
  void Upsert(PodInfo pod);
  void Remove(const std::string& uid);

 private:
  enum class WatchEnd { kClosed, kGone, kError };
  void Run();
  bool List();
  WatchEnd Watch();
  void Sleep(std::chrono::milliseconds d);
  void IndexLocked(const std::shared_ptr<const PodInfo>& pod);
  void UnindexLocked(const std::string& uid);
  void CountError();

  KubeApiOptions opts_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool synced_ = false;

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const PodInfo>> by_uid_;
  std::unordered_map<std::string, std::pair<std::shared_ptr<const PodInfo>, size_t>> by_container_;
  std::string resource_version_;
  PodCacheStats stats_;
  std::atomic<uint64_t> generation_{0};

  friend struct PodCacheTransfer;
};

}  // namespace sonde
