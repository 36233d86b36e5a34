// Chooses which processes sonde traces: by pid, executable glob, listening
// port, or all of them; follows exec, fork and exit.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "discovery/process_info.h"

namespace sonde {

struct Selectors {
  std::vector<uint32_t> pids;
  std::vector<std::string> exes;  // a name glob ("python3*") or a path glob ("/usr/bin/node")
  std::vector<uint16_t> ports;    // processes listening on these TCP ports
  bool all() const { return pids.empty() && exes.empty() && ports.empty(); }
};

class Discovery {
 public:
  Discovery(Selectors sel, uint32_t self_pid, std::string proc_root = "/proc");

  bool trace_all() const { return sel_.all(); }
  // Processes that match now (empty when tracing all).
  std::vector<uint32_t> InitialScan();

  // Each returns true when the pid is selected after the event.
  bool OnExec(uint32_t pid);
  bool OnFork(uint32_t parent, uint32_t child);
  bool OnListen(uint32_t pid, uint16_t port);
  void OnExit(uint32_t pid);

  bool IsSelected(uint32_t pid) const;
  // /proc facts of a pid, read once and cached until exec/exit; nullptr when
  // the process is gone.
  const ProcessInfo* Info(uint32_t pid);
  size_t selected_count() const { return selected_.size(); }

  // Exposed for tests.
  bool MatchesExe(const ProcessInfo& p) const;

 private:
  enum class Reason { kPid, kExe, kPort };
  std::vector<uint32_t> PidsListeningOn(const std::set<uint16_t>& ports);

  Selectors sel_;
  uint32_t self_pid_;
  std::string proc_;
  std::unordered_map<uint32_t, Reason> selected_;
  std::unordered_map<uint32_t, std::unique_ptr<ProcessInfo>> cache_;
};

// Every pid under proc_root.
std::vector<uint32_t> ListPids(const std::string& proc_root);
// Reads /proc/<pid> into a ProcessInfo; false when the process is gone.
bool ReadProcessInfo(const std::string& proc_root, uint32_t pid, ProcessInfo* out);
Runtime DetectRuntime(const std::string& exe_path, const std::string& maps);

}  // namespace sonde
