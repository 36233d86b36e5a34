#include "discovery/k8s/cgroup.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace sonde {
namespace {

bool IsContainerId(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Systemd-driver scope names: "<prefix><id>.scope". Conmon (cri-o's
// monitor) runs outside the container, so its scope is not the container.
struct ScopePrefix {
  std::string_view prefix;
  std::string_view runtime;
};
constexpr ScopePrefix kScopes[] = {
    {"cri-containerd-", "containerd"}, {"crio-", "cri-o"}, {"docker-", "docker"}, {"libpod-", "podman"}};

// "pod<uid>" (cgroupfs) or "kubepods-<qos>-pod<uid_with_underscores>.slice" (systemd).
std::string PodUidFromSegment(std::string_view seg) {
  if (EndsWith(seg, ".slice")) {
    seg.remove_suffix(6);
    size_t p = seg.rfind("-pod");
    if (!StartsWith(seg, "kubepods") || p == std::string_view::npos) return {};
    std::string uid(seg.substr(p + 4));
    for (char& c : uid)
      if (c == '_') c = '-';  // systemd escapes '-' in unit names
    return uid.size() >= 32 ? uid : std::string();
  }
  if (StartsWith(seg, "pod") && seg.size() >= 35) return std::string(seg.substr(3));
  return {};
}

std::optional<CgroupContainer> FromPath(std::string_view path) {
  std::vector<std::string_view> segs;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) segs.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  CgroupContainer out;
  bool found = false;
  bool kubepods = false;
  for (size_t i = segs.size(); i-- > 0;) {
    std::string_view seg = segs[i];
    if (!found) {
      if (IsContainerId(seg)) {
        out.id = std::string(seg);
        found = true;
        // cgroupfs driver: the parent folder names the engine.
        if (i > 0 && segs[i - 1] == "docker") out.runtime = "docker";
        continue;
      }
      if (EndsWith(seg, ".scope")) {
        std::string_view name = seg.substr(0, seg.size() - 6);
        for (const auto& sp : kScopes) {
          if (StartsWith(name, sp.prefix) && IsContainerId(name.substr(sp.prefix.size()))) {
            out.id = std::string(name.substr(sp.prefix.size()));
            out.runtime = std::string(sp.runtime);
            found = true;
            break;
          }
        }
        if (found) continue;
      }
    }
    if (StartsWith(seg, "kubepods")) kubepods = true;
    if (found && out.pod_uid.empty()) out.pod_uid = PodUidFromSegment(seg);
  }
  if (!found) return std::nullopt;
  if (!kubepods) out.pod_uid.clear();  // "pod..." outside kubepods is not a pod uid
  return out;
}

}  // namespace

std::optional<CgroupContainer> ParseCgroupFile(std::string_view text) {
  // Hybrid hosts list several hierarchies; the v2 line ("0::") is the one
  // every runtime sets, so it wins, then the first v1 line that names a container.
  std::optional<CgroupContainer> v1;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    auto found = FromPath(line.substr(c2 + 1));
    if (!found) continue;
    if (line.substr(0, c1) == "0" && c2 == c1 + 1) return found;
    if (!v1) v1 = std::move(found);
  }
  return v1;
}

std::optional<CgroupContainer> ContainerForPid(const std::string& proc_root, uint32_t pid) {
  std::ifstream f(proc_root + "/" + std::to_string(pid) + "/cgroup");
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ParseCgroupFile(ss.str());
}

std::string CgroupV2Mount(const std::string& mountinfo_path) {
  // mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts"
  std::ifstream f(mountinfo_path);
  std::string line;
  while (std::getline(f, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mountpoint;
    head >> id >> parent >> dev >> root >> mountpoint;
    return mountpoint;
  }
  return {};
}

}  // namespace sonde
