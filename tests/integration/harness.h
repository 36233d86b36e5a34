// Process control for integration tests: start real servers and clients,
// read their output with deadlines, stop them on scope exit.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sonde::testing {

using std::chrono::milliseconds;

class Child {
 public:
  enum class Capture { kStdout, kStderr };
  // Starts argv[0] (PATH is searched) with extra "K=V" environment entries
  // (replacing inherited ones of the same name).
  Child(std::vector<std::string> argv, std::vector<std::string> env = {}, Capture capture = Capture::kStdout,
        bool pipe_stdin = false);
  ~Child();  // SIGTERM, then SIGKILL after 3 s
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Reads the captured stream until a line containing `needle`.
  bool WaitForLine(const std::string& needle, milliseconds timeout, std::string* line = nullptr);
  // Reads the captured stream to EOF (or timeout) and returns what was not yet consumed.
  std::string ReadAll(milliseconds timeout);
  void WriteStdin(const std::string& s);
  void Signal(int sig);
  // Waits for exit; returns the exit code, 128+signal, or -1 on timeout.
  int Wait(milliseconds timeout);
  const std::string& seen() const { return seen_; }

 private:
  bool ReadSome(milliseconds timeout);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string buf_;
  std::string seen_;
};

bool WaitForPort(uint16_t port, milliseconds timeout);
uint16_t FreePort();
uint64_t UnixNowNs();
std::string SourceDir();
std::string BinaryDir();
std::string Python();  // Debian's python3 (has python3-flask, python3-requests)

}  // namespace sonde::testing
