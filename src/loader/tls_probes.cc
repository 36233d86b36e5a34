#include "loader/tls_probes.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "loader/elf_symbols.h"

namespace sonde {

namespace {

// "libssl.so.3", "libssl.so", "libssl-1_1.so": OpenSSL's TLS library.
bool IsLibssl(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.rfind("libssl", 0) == 0 && base.find(".so") != std::string::npos;
}

}  // namespace

const std::vector<std::string>& TlsFunctionNames() {
  static const std::vector<std::string> kNames = {"SSL_read",  "SSL_read_ex",      "SSL_write",
                                                  "SSL_write_ex", "SSL_do_handshake", "SSL_free"};
  return kNames;
}

TlsProbes::TlsProbes(TlsProbeTarget target, std::string proc_root)
    : target_(std::move(target)), proc_(std::move(proc_root)) {}

TlsProbes::~TlsProbes() {
  for (auto& [id, a] : attached_) target_.detach(a.link_id);
}

std::vector<std::string> TlsProbes::Candidates(uint32_t pid) const {
  const std::string base = proc_ + "/" + std::to_string(pid);
  std::vector<std::string> out = {base + "/exe"};
  std::ifstream maps(base + "/maps");
  std::string line;
  std::set<std::string> seen;
  while (std::getline(maps, line)) {
    // address perms offset dev inode path
    std::istringstream in(line);
    std::string addr, perms, offset, dev, inode, path;
    if (!(in >> addr >> perms >> offset >> dev >> inode)) continue;
    std::getline(in >> std::ws, path);
    if (path.empty() || path[0] != '/' || perms.size() < 3 || perms[2] != 'x') continue;
    if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
    if (!IsLibssl(path) || !seen.insert(path).second) continue;
    out.push_back(base + "/root" + path);
  }
  return out;
}

void TlsProbes::Scan(uint32_t pid) {
  scanned_.insert(pid);
  for (const std::string& path : Candidates(pid)) Use(pid, path);
}

void TlsProbes::Use(uint32_t pid, const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  FileId id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  if (not_tls_.count(id)) return;
  auto it = attached_.find(id);
  if (it == attached_.end()) {
    std::map<std::string, uint64_t> offsets = FindFunctionOffsets(path, TlsFunctionNames());
    if (!offsets.count("SSL_read") || !offsets.count("SSL_write")) {
      not_tls_.insert(id);
      return;
    }
    std::string error;
    uint64_t link = target_.attach(path, offsets, &error);
    if (link == 0) {
      ++attach_failures_;
      not_tls_.insert(id);
      spdlog::warn("TLS plaintext of pid {} will not be seen: {}", pid, error);
      return;
    }
    spdlog::info("TLS uprobes attached to {} (first user: pid {})", path, pid);
    it = attached_.emplace(id, Attached{path, link, {}}).first;
  }
  it->second.pids.insert(pid);
  files_of_[pid].insert(id);
}

void TlsProbes::Forget(uint32_t pid) {
  scanned_.erase(pid);
  auto f = files_of_.find(pid);
  if (f == files_of_.end()) return;
  for (const FileId& id : f->second) {
    auto it = attached_.find(id);
    if (it == attached_.end()) continue;
    it->second.pids.erase(pid);
    if (it->second.pids.empty()) {
      spdlog::info("TLS uprobes detached from {}: no traced process uses it", it->second.path);
      target_.detach(it->second.link_id);
      attached_.erase(it);
    }
  }
  files_of_.erase(f);
}

std::vector<std::string> TlsProbes::attached_paths() const {
  std::vector<std::string> out;
  for (const auto& [id, a] : attached_) out.push_back(a.path);
  return out;
}

}  // namespace sonde
