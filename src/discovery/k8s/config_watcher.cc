#include "discovery/k8s/config_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sonde {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

std::string Dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

ConfigWatcher::ConfigWatcher(std::string path, Callback on_change, std::chrono::milliseconds rescan)
    : path_(std::move(path)), on_change_(std::move(on_change)), rescan_(rescan) {}

ConfigWatcher::~ConfigWatcher() { Stop(); }

std::string ConfigWatcher::Start() {
  have_last_ = ReadFile(path_, &last_);
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return std::string("inotify_init1: ") + strerror(errno);
  // Everything that can make the path resolve to new content: a rename over
  // it or over "..data", a new symlink, an in-place write.
  uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB | IN_MODIFY;
  if (inotify_add_watch(inotify_fd_, Dir(path_).c_str(), mask) < 0) {
    std::string err = "watching " + Dir(path_) + ": " + strerror(errno);
    close(inotify_fd_);
    inotify_fd_ = -1;
    return err;
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { Run(); });
  return {};
}

void ConfigWatcher::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t n = write(stop_fd_, &one, sizeof(one));
    (void)n;
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  inotify_fd_ = stop_fd_ = -1;
}

void ConfigWatcher::CheckNow() {
  std::string text;
  // A missing file is a step of an update in progress (or a deleted
  // ConfigMap): keep the old config rather than report an empty one.
  if (!ReadFile(path_, &text)) return;
  if (have_last_ && text == last_) return;
  last_ = text;
  have_last_ = true;
  on_change_(text);
}

void ConfigWatcher::Run() {
  auto next_rescan = std::chrono::steady_clock::now() + rescan_;
  for (;;) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_rescan - std::chrono::steady_clock::now());
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int r = poll(fds, 2, static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (r < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (r > 0 && fds[0].revents) {
      alignas(inotify_event) char buf[4096];
      while (read(inotify_fd_, buf, sizeof(buf)) > 0) {
      }
      // The kubelet's swap is several steps (mkdir, write, symlink, rename);
      // let it finish so the file is read once, whole.
      pollfd s = {stop_fd_, POLLIN, 0};
      if (poll(&s, 1, 50) > 0) return;
      while (read(inotify_fd_, buf, sizeof(buf)) > 0) {
      }
      CheckNow();
    }
    if (std::chrono::steady_clock::now() >= next_rescan) {
      CheckNow();
      next_rescan = std::chrono::steady_clock::now() + rescan_;
    }
  }
}

}  // namespace sonde
