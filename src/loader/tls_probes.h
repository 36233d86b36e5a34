// Which files the TLS uprobes are attached to. A selected process is looked
// at (its executable and every mapped libssl*.so*); each file that defines
// OpenSSL's SSL_read and SSL_write gets the probes once, however many
// processes map it, and loses them when no selected process uses it any
// more. Files are told apart by device and inode, so the same library seen
// through different paths (containers: /proc/<pid>/root/...) counts once.
//
// Only libssl and executables are looked at: a library that links OpenSSL
// statically under another name (some language wheels bundle BoringSSL) is
// not covered.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sonde {

// The kernel side, injectable for tests (Loader::AttachTls / DetachTls).
struct TlsProbeTarget {
  std::function<uint64_t(const std::string& path, const std::map<std::string, uint64_t>& offsets,
                         std::string* error)>
      attach;
  std::function<void(uint64_t id)> detach;
};

// The functions looked up in candidate files.
const std::vector<std::string>& TlsFunctionNames();

class TlsProbes {
 public:
  explicit TlsProbes(TlsProbeTarget target, std::string proc_root = "/proc");
  ~TlsProbes();  // detaches everything
  TlsProbes(const TlsProbes&) = delete;
  TlsProbes& operator=(const TlsProbes&) = delete;

  // Looks at what `pid` maps now and attaches to TLS files not covered yet.
  // Cheap to repeat: files already judged are not read again.
  void Scan(uint32_t pid);
  // `pid` exited or is no longer selected.
  void Forget(uint32_t pid);

  // Pids that Scan has seen (whether or not they use TLS).
  const std::set<uint32_t>& scanned() const { return scanned_; }
  // Paths (as first seen) of the files with probes attached.
  std::vector<std::string> attached_paths() const;
  uint64_t attach_failures() const { return attach_failures_; }

 private:
  struct FileId {
    uint64_t dev = 0;
    uint64_t ino = 0;
    bool operator<(const FileId& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
  };
  struct Attached {
    std::string path;
    uint64_t link_id = 0;
    std::set<uint32_t> pids;
  };

  // Candidate files of a pid, as paths openable from here.
  std::vector<std::string> Candidates(uint32_t pid) const;
  void Use(uint32_t pid, const std::string& path);

  TlsProbeTarget target_;
  std::string proc_;
  std::map<FileId, Attached> attached_;
  std::set<FileId> not_tls_;  // judged: no OpenSSL functions, or attach failed
  std::map<uint32_t, std::set<FileId>> files_of_;
  std::set<uint32_t> scanned_;
  uint64_t attach_failures_ = 0;
};

}  // namespace sonde
