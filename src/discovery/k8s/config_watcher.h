// Calls back with a config file's new text when it changes on disk.
//
// A ConfigMap volume is updated by the kubelet atomically: it writes a new
// timestamped folder, points a temporary symlink at it and renames that over
// "..data"; "config.yaml" itself is a symlink through "..data" and never
// changes. So the watch is on the file's folder (inotify), and any event
// there re-reads the file through its symlinks and compares the text.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace sonde {

class ConfigWatcher {
 public:
  using Callback = std::function<void(const std::string& new_text)>;

  // `path` is the config file; the callback runs on the watcher's thread.
  // `rescan` re-reads the file even without events (a safety net where
  // inotify misses changes, e.g. some network filesystems).
  ConfigWatcher(std::string path, Callback on_change,
                std::chrono::milliseconds rescan = std::chrono::seconds(60));
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  // Reads the current text as the baseline (no callback for it) and starts
  // watching; "" on success, else why not (the folder is missing).
  std::string Start();
  void Stop();

 private:
  void Run();
  void CheckNow();

  std::string path_;
  Callback on_change_;
  std::chrono::milliseconds rescan_;
  std::string last_;
  bool have_last_ = false;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the thread to exit
  std::thread thread_;
};

}  // namespace sonde
