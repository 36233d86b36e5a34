#include <unistd.h>

#include <fstream>
#include <sstream>

#include "discovery/discovery.h"

namespace sonde {
namespace {

std::string Slurp(const std::string& path, size_t limit = 1 << 20) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::string s;
  s.resize(limit);
  f.read(s.data(), static_cast<std::streamsize>(limit));
  s.resize(static_cast<size_t>(f.gcount()));
  return s;
}

std::vector<std::string> SplitNul(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string Basename(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

Runtime DetectRuntime(const std::string& exe_path, const std::string& maps) {
  std::string exe = exe_path;
  const std::string deleted = " (deleted)";
  if (exe.size() >= deleted.size() && exe.compare(exe.size() - deleted.size(), deleted.size(), deleted) == 0)
    exe.resize(exe.size() - deleted.size());
  std::string base = Basename(exe);
  if (base.rfind("python", 0) == 0) return Runtime::kPython;
  if (base == "node" || base == "nodejs") return Runtime::kNode;
  // Embedded runtimes (uwsgi, electron-like hosts) are told by their libraries.
  if (maps.find("/libpython") != std::string::npos) return Runtime::kPython;
  if (maps.find("/libnode.so") != std::string::npos) return Runtime::kNode;
  if (maps.find("/libstdc++.so") != std::string::npos || maps.find("/libc++.so") != std::string::npos)
    return Runtime::kCpp;
  if (exe.empty() && maps.empty()) return Runtime::kUnknown;
  return Runtime::kNative;
}

bool ReadProcessInfo(const std::string& proc_root, uint32_t pid, ProcessInfo* out) {
  std::string dir = proc_root + "/" + std::to_string(pid);
  char buf[4096];
  ssize_t n = readlink((dir + "/exe").c_str(), buf, sizeof(buf) - 1);
  if (n < 0) {
    if (access(dir.c_str(), F_OK) != 0) return false;
    n = 0;  // kernel thread or no permission: keep what else is readable
  }
  out->pid = pid;
  out->exe_path.assign(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (out->exe_path.size() > deleted.size() &&
      out->exe_path.compare(out->exe_path.size() - deleted.size(), deleted.size(), deleted) == 0)
    out->exe_path.resize(out->exe_path.size() - deleted.size());
  out->comm = Slurp(dir + "/comm", 64);
  while (!out->comm.empty() && out->comm.back() == '\n') out->comm.pop_back();
  out->cmdline = SplitNul(Slurp(dir + "/cmdline", 64 << 10));
  for (const std::string& kv : SplitNul(Slurp(dir + "/environ", 256 << 10))) {
    if (kv.rfind("OTEL_SERVICE_NAME=", 0) == 0) out->otel_service_name = kv.substr(18);
    if (kv.rfind("OTEL_RESOURCE_ATTRIBUTES=", 0) == 0) out->otel_resource_attributes = kv.substr(25);
  }
  // Field 22 of stat: start time in clock ticks since boot.
  std::string stat = Slurp(dir + "/stat", 4096);
  size_t rp = stat.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream is(stat.substr(rp + 2));
    std::string field;
    for (int i = 3; i <= 22 && (is >> field); ++i) {
      if (i == 22) {
        long hz = sysconf(_SC_CLK_TCK);
        out->start_ns = std::stoull(field) * (1000000000ull / static_cast<uint64_t>(hz > 0 ? hz : 100));
      }
    }
  }
  out->runtime = DetectRuntime(out->exe_path, Slurp(dir + "/maps", 4 << 20));
  return true;
}

}  // namespace sonde
