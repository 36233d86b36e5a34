#include "discovery/discovery.h"

#include <dirent.h>
#include <fnmatch.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sonde {
namespace {

std::string Basename(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// Inodes of TCP sockets in LISTEN state on any of `ports`.
std::set<uint64_t> ListeningInodes(const std::string& proc, const std::set<uint16_t>& ports) {
  std::set<uint64_t> inodes;
  for (const char* file : {"/net/tcp", "/net/tcp6"}) {
    std::ifstream f(proc + file);
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::istringstream is(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      if (!(is >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode)) continue;
      if (st != "0A") continue;  // TCP_LISTEN
      size_t colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      uint16_t port = static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
      if (ports.count(port)) inodes.insert(std::stoull(inode));
    }
  }
  return inodes;
}

}  // namespace

std::vector<uint32_t> ListPids(const std::string& proc) {
  std::vector<uint32_t> pids;
  DIR* d = opendir(proc.c_str());
  if (!d) return pids;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    unsigned long v = strtoul(e->d_name, &end, 10);
    if (end && *end == 0 && v > 0) pids.push_back(static_cast<uint32_t>(v));
  }
  closedir(d);
  return pids;
}

Discovery::Discovery(Selectors sel, uint32_t self_pid, std::string proc_root)
    : sel_(std::move(sel)), self_pid_(self_pid), proc_(std::move(proc_root)) {}

bool Discovery::MatchesExe(const ProcessInfo& p) const {
  for (const std::string& pat : sel_.exes) {
    if (pat.find('/') != std::string::npos) {
      if (fnmatch(pat.c_str(), p.exe_path.c_str(), 0) == 0) return true;
    } else {
      if (!p.exe_path.empty() && fnmatch(pat.c_str(), Basename(p.exe_path).c_str(), 0) == 0) return true;
      if (!p.comm.empty() && fnmatch(pat.c_str(), p.comm.c_str(), 0) == 0) return true;
    }
  }
  return false;
}

std::vector<uint32_t> Discovery::PidsListeningOn(const std::set<uint16_t>& ports) {
  std::vector<uint32_t> out;
  std::set<uint64_t> inodes = ListeningInodes(proc_, ports);
  if (inodes.empty()) return out;
  for (uint32_t pid : ListPids(proc_)) {
    std::string fddir = proc_ + "/" + std::to_string(pid) + "/fd";
    DIR* d = opendir(fddir.c_str());
    if (!d) continue;
    bool hit = false;
    while (dirent* e = readdir(d)) {
      char buf[64];
      ssize_t n = readlink((fddir + "/" + e->d_name).c_str(), buf, sizeof(buf) - 1);
      if (n <= 0) continue;
      buf[n] = 0;
      unsigned long long ino;
      if (sscanf(buf, "socket:[%llu]", &ino) == 1 && inodes.count(ino)) {
        hit = true;
        break;
      }
    }
    closedir(d);
    if (hit) out.push_back(pid);
  }
  return out;
}

std::vector<uint32_t> Discovery::InitialScan() {
  std::vector<uint32_t> out;
  if (trace_all()) return out;
  for (uint32_t pid : sel_.pids) {
    if (pid == self_pid_) continue;
    if (access((proc_ + "/" + std::to_string(pid)).c_str(), F_OK) != 0) continue;
    selected_[pid] = Reason::kPid;
  }
  if (!sel_.exes.empty()) {
    for (uint32_t pid : ListPids(proc_)) {
      if (pid == self_pid_ || selected_.count(pid)) continue;
      const ProcessInfo* info = Info(pid);
      if (info && MatchesExe(*info)) selected_[pid] = Reason::kExe;
    }
  }
  if (!sel_.ports.empty()) {
    std::set<uint16_t> ports(sel_.ports.begin(), sel_.ports.end());
    for (uint32_t pid : PidsListeningOn(ports))
      if (pid != self_pid_ && !selected_.count(pid)) selected_[pid] = Reason::kPort;
  }
  for (const auto& [pid, reason] : selected_) out.push_back(pid);
  return out;
}

bool Discovery::OnExec(uint32_t pid) {
  cache_.erase(pid);  // a new program: new identity
  if (pid == self_pid_) return false;
  if (trace_all()) return true;
  auto it = selected_.find(pid);
  if (it != selected_.end() && it->second == Reason::kPid) return true;
  const ProcessInfo* info = sel_.exes.empty() ? nullptr : Info(pid);
  if (info && MatchesExe(*info)) {
    selected_[pid] = Reason::kExe;
    return true;
  }
  // Selected by exe/port before the exec (e.g. a fork of a matching
  // process): the new program must match on its own.
  if (it != selected_.end()) selected_.erase(it);
  return false;
}

bool Discovery::OnFork(uint32_t parent, uint32_t child) {
  if (trace_all()) return child != self_pid_;
  auto it = selected_.find(parent);
  if (it == selected_.end()) return false;
  selected_[child] = it->second;
  return true;
}

bool Discovery::OnListen(uint32_t pid, uint16_t port) {
  if (pid == self_pid_) return false;
  if (trace_all()) return true;
  for (uint16_t p : sel_.ports) {
    if (p == port) {
      if (!selected_.count(pid)) selected_[pid] = Reason::kPort;
      return true;
    }
  }
  return IsSelected(pid);
}

void Discovery::OnExit(uint32_t pid) {
  selected_.erase(pid);
  cache_.erase(pid);
}

bool Discovery::IsSelected(uint32_t pid) const {
  if (pid == self_pid_) return false;
  if (trace_all()) return true;
  return selected_.count(pid) != 0;
}

const ProcessInfo* Discovery::Info(uint32_t pid) {
  auto it = cache_.find(pid);
  if (it != cache_.end()) return it->second.get();
  auto info = std::make_unique<ProcessInfo>();
  if (!ReadProcessInfo(proc_, pid, info.get())) return nullptr;
  // Bound the cache: in trace-all mode every process that talks is cached.
  if (cache_.size() > 16384) cache_.clear();
  return cache_.emplace(pid, std::move(info)).first->second.get();
}

}  // namespace sonde
