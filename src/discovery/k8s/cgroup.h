// pid -> container id, from the cgroup path the container runtime put the
// process in (/proc/<pid>/cgroup).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sonde {

struct CgroupContainer {
  std::string id;        // 64 lowercase hex digits, as the runtime names the container
  std::string runtime;   // "docker", "containerd", "cri-o", "podman", or "" when only the bare id says it
  std::string pod_uid;   // "1f2e...-..." when the path names the pod (kubepods), else ""
};

// Finds the container in the text of a /proc/<pid>/cgroup file, cgroup v1
// ("4:memory:/docker/<id>") or v2 ("0::/kubepods.slice/.../cri-containerd-<id>.scope").
// Handles the cgroupfs driver (/docker/<id>, /kubepods/<qos>/pod<uid>/<id>)
// and the systemd driver (docker-<id>.scope, cri-containerd-<id>.scope,
// crio-<id>.scope, libpod-<id>.scope under kubepods-<qos>-pod<uid>.slice).
// nullopt for a process outside any container.
std::optional<CgroupContainer> ParseCgroupFile(std::string_view text);

// Reads <proc_root>/<pid>/cgroup; nullopt when the process is gone or not in a container.
std::optional<CgroupContainer> ContainerForPid(const std::string& proc_root, uint32_t pid);

// Where the cgroup v2 hierarchy is mounted, from a mountinfo file:
// "/sys/fs/cgroup" on pure v2 nodes, "/sys/fs/cgroup/unified" on hybrid ones; "" when none.
std::string CgroupV2Mount(const std::string& mountinfo_path = "/proc/self/mountinfo");

}  // namespace sonde
