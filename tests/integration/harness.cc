#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <string_view>
#include <thread>

extern char** environ;

namespace sonde::testing {

Child::Child(std::vector<std::string> argv, std::vector<std::string> env, Capture capture, bool pipe_stdin) {
  int out[2], in[2] = {-1, -1};
  if (pipe(out) != 0) abort();
  if (pipe_stdin && pipe(in) != 0) abort();
  // The extra entries replace inherited ones of the same name (the first
  // of duplicate names is the one getenv() finds).
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string_view inherited(*e);
    std::string_view name = inherited.substr(0, inherited.find('=') + 1);  // "K=", or "" without '='
    bool replaced = false;
    for (auto& kv : env) replaced = replaced || (!name.empty() && kv.compare(0, name.size(), name) == 0);
    if (!replaced) envs.emplace_back(inherited);
  }
  for (auto& kv : env) envs.push_back(kv);
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(out[1], capture == Capture::kStdout ? 1 : 2);
    if (pipe_stdin) dup2(in[0], 0);
    close(out[0]);
    close(out[1]);
    std::vector<char*> av, ev;
    for (auto& a : argv) av.push_back(a.data());
    av.push_back(nullptr);
    for (auto& e : envs) ev.push_back(e.data());
    ev.push_back(nullptr);
    execvpe(av[0], av.data(), ev.data());
    fprintf(stderr, "exec %s: %s\n", av[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  out_fd_ = out[0];
  if (pipe_stdin) {
    close(in[0]);
    in_fd_ = in[1];
  }
}

Child::~Child() {
  if (in_fd_ >= 0) close(in_fd_);
  if (!exited_ && pid_ > 0) {
    kill(-pid_, SIGTERM);
    kill(pid_, SIGTERM);
    if (Wait(milliseconds(3000)) < 0) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  kill(-pid_, SIGKILL);  // anything the child left in its group
  if (out_fd_ >= 0) close(out_fd_);
}

bool Child::ReadSome(milliseconds timeout) {
  pollfd p{out_fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char tmp[65536];
  ssize_t n = read(out_fd_, tmp, sizeof(tmp));
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  seen_.append(tmp, static_cast<size_t>(n));
  return true;
}

bool Child::WaitForLine(const std::string& needle, milliseconds timeout, std::string* line) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t nl;
    while ((nl = buf_.find('\n')) != std::string::npos) {
      std::string l = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (l.find(needle) != std::string::npos) {
        if (line) *line = l;
        return true;
      }
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!ReadSome(left) && std::chrono::steady_clock::now() < deadline) {
      // EOF or nothing yet: avoid a busy loop on a closed pipe.
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
}

std::string Child::ReadAll(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char tmp[65536];
    ssize_t n = read(out_fd_, tmp, sizeof(tmp));
    if (n <= 0) break;
    buf_.append(tmp, static_cast<size_t>(n));
    seen_.append(tmp, static_cast<size_t>(n));
  }
  std::string out;
  out.swap(buf_);
  return out;
}

void Child::WriteStdin(const std::string& s) {
  if (in_fd_ >= 0) (void)!write(in_fd_, s.data(), s.size());
}

void Child::Signal(int sig) { kill(pid_, sig); }

int Child::Wait(milliseconds timeout) {
  if (exited_) return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

bool WaitForPort(uint16_t port, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

uint64_t UnixNowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string SourceDir() { return SONDE_SOURCE_DIR; }
std::string BinaryDir() { return SONDE_BINARY_DIR; }
std::string Python() { return "/usr/bin/python3"; }

}  // namespace sonde::testing
