// Which pids sonde traces right now: the process rules (Discovery: pid, exe,
// port, or everything) and, when Kubernetes is enabled, the pod rules
// (cgroup -> container -> pod -> include/exclude). Keeps the loader's pid
// filter map in step with that set.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "discovery/discovery.h"
#include "discovery/k8s/pod_cache.h"
#include "discovery/k8s/process_filter.h"
#include "discovery/k8s/selection.h"
#include "loader/loader.h"

namespace sonde {

class TracingSet {
 public:
  // `pods` may be null (Kubernetes disabled).
  TracingSet(Selectors sel, const K8sSettings& k8s, PodCache* pods, uint32_t self_pid);

  // The kernel must filter by pid unless every process is traced.
  bool kernel_traces_all() const { return discovery_->trace_all() && !pods_; }
  void Attach(Loader* loader);  // selects the initial set in the kernel
  size_t size() const { return traced_.size(); }
  // The traced pids (empty when the kernel traces every process).
  const std::unordered_set<uint32_t>& pids() const { return traced_; }

  bool IsTraced(uint32_t pid) const;
  void OnExec(uint32_t pid);
  void OnFork(uint32_t parent, uint32_t child);
  void OnListen(uint32_t pid, uint16_t port);
  void OnExit(uint32_t pid);
  // Re-classifies pids whose pod was not known yet (call periodically).
  void Tick();
  // New rules (config reload). Returns false with *why when they need a
  // restart (switching between "every process" and chosen ones).
  bool Reconfigure(Selectors sel, const K8sSelection& k8s, std::string* why);

  Discovery& discovery() { return *discovery_; }
  // The pod of a traced pid, when known.
  const K8sProcess* PodOf(uint32_t pid) const;

 private:
  bool Admit(uint32_t pid);  // pod rules for a pid the process rules selected
  void Set(uint32_t pid, bool traced);

  std::unique_ptr<Discovery> discovery_;
  K8sSettings k8s_;
  PodCache* pods_;
  uint32_t self_;
  Loader* loader_ = nullptr;
  std::unordered_set<uint32_t> traced_;
  std::unordered_set<uint32_t> pending_;
  std::unordered_map<uint32_t, K8sProcess> pod_of_;
  uint64_t seen_generation_ = 0;
};

}  // namespace sonde
