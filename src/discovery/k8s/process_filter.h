// The Kubernetes half of "is this pid traced": pid -> cgroup -> container
// id -> pod -> selection rules. The agent asks it for every pid the process
// rules (exe, port, pid) select.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "discovery/k8s/cgroup.h"
#include "discovery/k8s/pod_cache.h"
#include "discovery/k8s/selection.h"

namespace sonde {

enum class K8sVerdict {
  kAllow,    // in a selected pod, or a host process while host_processes is on
  kDeny,     // excluded, or a host process
  kPending,  // in a container whose pod is not in the cache yet: ask again when PodCache::generation() moves
};

struct K8sProcess {
  K8sVerdict verdict = K8sVerdict::kDeny;
  std::optional<CgroupContainer> container;  // nullopt: a host process
  std::optional<PodMeta> pod;                // set when the pod is known
};

// `proc_root` is the host's /proc ("/host/proc" in the DaemonSet).
K8sProcess ClassifyPid(const std::string& proc_root, uint32_t pid, const PodCache& pods, const K8sSelection& sel);

}  // namespace sonde
