// ConfigWatcher with a ConfigMap-shaped folder, updated the way the kubelet
// does it: new timestamped folder, symlink "..data_tmp" renamed over "..data".
#include "discovery/k8s/config_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

namespace sonde {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ConfigMapDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("sonde-cm-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Publish("log_level: info\n");
    fs::create_symlink("..data/config.yaml", dir_ / "config.yaml");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The kubelet's atomic writer, step for step.
  void Publish(const std::string& text) {
    std::string ts = "..2024_05_01_10_00_00." + std::to_string(++version_);
    fs::create_directories(dir_ / ts);
    std::ofstream(dir_ / ts / "config.yaml") << text;
    fs::create_symlink(ts, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");
    if (!old_.empty()) fs::remove_all(dir_ / old_);
    old_ = ts;
  }

  std::vector<std::string> WaitFor(size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, limit, [&] { return seen_.size() >= n; });
    return seen_;
  }
  ConfigWatcher::Callback Recorder() {
    return [this](const std::string& text) {
      std::lock_guard<std::mutex> l(mu_);
      seen_.push_back(text);
      cv_.notify_all();
    };
  }

  fs::path dir_;
  std::string old_;
  int version_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> seen_;
};

TEST_F(ConfigMapDir, SymlinkSwapCallsBackWithTheNewText) {
  ConfigWatcher w((dir_ / "config.yaml").string(), Recorder());
  ASSERT_EQ(w.Start(), "");
  Publish("log_level: debug\n");
  auto seen = WaitFor(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "log_level: debug\n");
  Publish("log_level: warn\n");
  seen = WaitFor(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], "log_level: warn\n");
  w.Stop();
}

TEST_F(ConfigMapDir, SameTextOrUnrelatedFilesDoNotCallBack) {
  ConfigWatcher w((dir_ / "config.yaml").string(), Recorder());
  ASSERT_EQ(w.Start(), "");
  Publish("log_level: info\n");  // republished unchanged
  std::ofstream(dir_ / "unrelated") << "x";
  EXPECT_TRUE(WaitFor(1, 400ms).empty());
  Publish("log_level: error\n");
  EXPECT_EQ(WaitFor(1).size(), 1u);
}

TEST(ConfigWatcher, PlainFileReplacedByRename) {
  fs::path dir = fs::path(::testing::TempDir()) / ("sonde-cfg-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "sonde.yaml") << "a: 1\n";
  std::mutex mu;
  std::condition_variable cv;
  std::string got;
  ConfigWatcher w((dir / "sonde.yaml").string(), [&](const std::string& t) {
    std::lock_guard<std::mutex> l(mu);
    got = t;
    cv.notify_all();
  });
  ASSERT_EQ(w.Start(), "");
  std::ofstream(dir / "sonde.yaml.tmp") << "a: 2\n";
  fs::rename(dir / "sonde.yaml.tmp", dir / "sonde.yaml");  // how editors save
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, 5s, [&] { return !got.empty(); });
  }
  EXPECT_EQ(got, "a: 2\n");
  w.Stop();
  fs::remove_all(dir);
}

TEST(ConfigWatcher, MissingFolderIsAnError) {
  ConfigWatcher w("/nonexistent-sonde-dir/config.yaml", [](const std::string&) {});
  EXPECT_NE(w.Start(), "");
}

}  // namespace
}  // namespace sonde
