#include "loader/python_runtime.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "loader/elf_symbols.h"

namespace sonde {

namespace {

// "libpython3.11.so.1.0", "libpython3.12d.so": CPython as a shared library.
bool IsLibpython(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.rfind("libpython3", 0) == 0 && base.find(".so") != std::string::npos;
}

struct Mapping {
  uint64_t start = 0;
  uint64_t offset = 0;
  std::string path;
};

std::vector<Mapping> ReadMaps(const std::string& maps_path) {
  std::vector<Mapping> out;
  std::ifstream maps(maps_path);
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string addr, perms, offset, dev, inode, path;
    if (!(in >> addr >> perms >> offset >> dev >> inode)) continue;
    std::getline(in >> std::ws, path);
    if (path.empty() || path[0] != '/') continue;
    Mapping m;
    m.start = std::stoull(addr.substr(0, addr.find('-')), nullptr, 16);
    m.offset = std::stoull(offset, nullptr, 16);
    m.path = path;
    out.push_back(std::move(m));
  }
  return out;
}

// Describes the runtime found in `file` (openable as `open_path`), mapped in
// the process at the mappings named `mapped_path`.
bool DescribeFile(const std::string& open_path, const std::string& mapped_path, const std::vector<Mapping>& maps,
                  PythonProbe* out) {
  std::map<std::string, ElfSymbol> syms = FindSymbols(open_path, {"_PyRuntime", "Py_Version"});
  auto rt = syms.find("_PyRuntime");
  if (rt == syms.end()) return false;
  out->file = mapped_path;
  auto ver = syms.find("Py_Version");
  uint32_t v = 0;
  if (ver == syms.end() || !ver->second.file_offset || !ReadFileBytes(open_path, ver->second.file_offset, &v, 4)) {
    out->status = PythonProbe::Status::kUnsupportedVersion;  // before 3.11 there is no Py_Version
    return true;
  }
  out->version = v;
  if (!PythonLayoutFor(v, &out->rt)) {
    out->status = PythonProbe::Status::kUnsupportedVersion;
    return true;
  }
  uint64_t first_vaddr = 0;
  bool relocatable = false;
  if (!ElfLoadInfo(open_path, &first_vaddr, &relocatable)) {
    out->status = PythonProbe::Status::kUnreadable;
    return true;
  }
  uint64_t base = 0;
  if (relocatable) {
    bool found = false;
    for (const Mapping& m : maps) {
      if (m.path != mapped_path || m.offset != 0) continue;
      base = m.start - first_vaddr;
      found = true;
      break;
    }
    if (!found) {
      out->status = PythonProbe::Status::kUnreadable;
      return true;
    }
  }
  out->rt.runtime_addr = base + rt->second.vaddr;
  out->status = PythonProbe::Status::kSupported;
  return true;
}

}  // namespace

bool PythonLayoutFor(uint32_t version_hex, sonde_py_runtime* rt) {
  const uint32_t minor = (version_hex >> 16) & 0xff;
  if ((version_hex >> 24) != 3) return false;
  switch (minor) {
    case 11:
      // CPython 3.11 (Include/internal/pycore_runtime.h, pycore_interp.h,
      // Include/cpython/pystate.h), measured with offsetof against
      // python3.11-dev's headers built with Py_BUILD_CORE; the layout of
      // these fields does not change between 3.11 patch releases.
      rt->interp_head = 40;      // _PyRuntimeState.interpreters.head
      rt->threads_head = 16;     // PyInterpreterState.threads.head
      rt->tstate_next = 8;       // PyThreadState.next
      rt->tstate_native_id = 160;// PyThreadState.native_thread_id
      rt->tstate_context = 224;  // PyThreadState.context
      rt->version = version_hex;
      return true;
    default:
      return false;
  }
}

std::string PythonVersionText(uint32_t v) {
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xff) + "." + std::to_string((v >> 8) & 0xff);
}

PythonProbe ProbePython(uint32_t pid, const std::string& proc_root, bool skip_exe) {
  PythonProbe out;
  const std::string base = proc_root + "/" + std::to_string(pid);
  std::vector<Mapping> maps = ReadMaps(base + "/maps");
  char exe[4096];
  ssize_t n = skip_exe ? -1 : readlink((base + "/exe").c_str(), exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = 0;
    std::string exe_path(exe);
    if (DescribeFile(base + "/exe", exe_path, maps, &out)) return out;
  }
  std::string seen;
  for (const Mapping& m : maps) {
    if (!IsLibpython(m.path) || m.path == seen) continue;
    seen = m.path;
    if (DescribeFile(base + "/root" + m.path, m.path, maps, &out)) return out;
  }
  return out;
}

void AsyncContextTargets::DetachAll() {
  if (detach_)
    for (auto& [file, f] : node_files_) detach_(f.link_id);
  node_files_.clear();
  node_pids_.clear();
}

bool AsyncContextTargets::ScanNode(uint32_t pid) {
  if (!attach_node_) return false;
  const std::string exe = proc_ + "/" + std::to_string(pid) + "/exe";
  struct stat st;
  if (stat(exe.c_str(), &st) != 0) return false;
  std::pair<uint64_t, uint64_t> id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  auto it = node_files_.find(id);
  if (it == node_files_.end()) {
    std::map<std::string, uint64_t> offs =
        FindFunctionOffsets(exe, {kNodeScopeCtor, kNodeScopeWrapCtor, kNodeScopeDtor, kNodeScopeClose});
    if (offs.size() != 4) return false;
    uint64_t link = attach_node_(exe, offs[kNodeScopeCtor], offs[kNodeScopeWrapCtor], offs[kNodeScopeDtor],
                                 offs[kNodeScopeClose]);
    if (!link) return false;
    it = node_files_.emplace(id, NodeFile{link, {}}).first;
  }
  it->second.pids.insert(pid);
  node_pids_[pid] = id;
  ++stats_.node_processes;
  spdlog::debug("pid {}: Node.js callback scopes are followed", pid);
  return true;
}

bool AsyncContextTargets::Scan(uint32_t pid) {
  if (judged_.count(pid)) return false;
  struct stat st;
  std::pair<uint64_t, uint64_t> exe{0, 0};
  if (stat((proc_ + "/" + std::to_string(pid) + "/exe").c_str(), &st) == 0)
    exe = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  const bool plain = plain_exes_.count(exe) != 0;
  PythonProbe p = ProbePython(pid, proc_, plain);
  if (p.status == PythonProbe::Status::kNotPython && !plain) {
    if (ScanNode(pid))
      p.status = PythonProbe::Status::kNode;
    else if (exe.second && p.file.empty())
      plain_exes_.insert(exe);
  }
  judged_[pid] = p.status;
  switch (p.status) {
    case PythonProbe::Status::kSupported:
      set_(pid, p.rt);
      ++stats_.python_processes;
      spdlog::debug("pid {}: CPython {} ({}): async contexts are read", pid, PythonVersionText(p.version), p.file);
      break;
    case PythonProbe::Status::kUnsupportedVersion:
      ++stats_.unsupported_python;
      spdlog::info("pid {}: CPython {} ({}) is a version whose layout sonde does not know: its asyncio tasks "
                   "are not told apart",
                   pid, p.version ? PythonVersionText(p.version) : std::string("older than 3.11"), p.file);
      break;
    case PythonProbe::Status::kUnreadable:
      spdlog::debug("pid {}: CPython runtime in {} not located", pid, p.file);
      break;
    case PythonProbe::Status::kNotPython:
    case PythonProbe::Status::kNode:
      break;
  }
  return true;
}

void AsyncContextTargets::Rescan(uint32_t pid) {
  auto it = judged_.find(pid);
  if (it == judged_.end()) return;
  if (it->second != PythonProbe::Status::kNotPython && it->second != PythonProbe::Status::kUnreadable) return;
  judged_.erase(it);
  Scan(pid);
}

void AsyncContextTargets::Forget(uint32_t pid) {
  auto it = judged_.find(pid);
  if (it == judged_.end()) return;
  if (it->second == PythonProbe::Status::kSupported) clear_(pid);
  judged_.erase(it);
  auto n = node_pids_.find(pid);
  if (n == node_pids_.end()) return;
  auto f = node_files_.find(n->second);
  node_pids_.erase(n);
  if (f == node_files_.end()) return;
  f->second.pids.erase(pid);
  if (f->second.pids.empty()) {
    if (detach_) detach_(f->second.link_id);
    node_files_.erase(f);
  }
}

}  // namespace sonde
