// Container ids from /proc/<pid>/cgroup: a table of the shapes container
// runtimes write, then the real path: a child process moved into a
// runtime-shaped cgroup this test creates under the cgroup v2 mount.
#include "discovery/k8s/cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sonde {
namespace {

const std::string kId = "3f2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a";
const std::string kUid = "5d7c8f2e-1a2b-4c3d-9e8f-0a1b2c3d4e5f";

struct Case {
  const char* name;
  std::string text;
  std::string id;
  std::string runtime;
  std::string pod_uid;
};

TEST(CgroupParse, RuntimeShapes) {
  std::string uid_us = kUid;
  for (char& c : uid_us)
    if (c == '-') c = '_';
  const Case cases[] = {
      {"docker cgroup v1", "12:memory:/docker/" + kId + "\n11:cpu,cpuacct:/docker/" + kId + "\n", kId, "docker", ""},
      {"docker systemd v2", "0::/system.slice/docker-" + kId + ".scope\n", kId, "docker", ""},
      {"containerd cgroupfs v1", "5:pids:/kubepods/burstable/pod" + kUid + "/" + kId + "\n", kId, "", kUid},
      {"containerd systemd v2",
       "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_us + ".slice/cri-containerd-" +
           kId + ".scope\n",
       kId, "containerd", kUid},
      {"guaranteed qos systemd",
       "0::/kubepods.slice/kubepods-pod" + uid_us + ".slice/cri-containerd-" + kId + ".scope\n", kId, "containerd",
       kUid},
      {"cri-o systemd v2",
       "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uid_us + ".slice/crio-" + kId +
           ".scope\n",
       kId, "cri-o", kUid},
      {"podman", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope\n", kId,
       "podman", ""},
      {"hybrid: v2 line wins over v1",
       "12:memory:/docker/" + std::string(64, 'a') + "\n0::/kubepods/besteffort/pod" + kUid + "/" + kId + "\n", kId,
       "", kUid},
      {"nested scope (cri-o container init)", "0::/kubepods.slice/crio-" + kId + ".scope/container\n", kId, "cri-o",
       ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = ParseCgroupFile(c.text);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->id, c.id);
    EXPECT_EQ(got->runtime, c.runtime);
    EXPECT_EQ(got->pod_uid, c.pod_uid);
  }
}

TEST(CgroupParse, NotInAContainer) {
  const std::string cases[] = {
      "0::/init.scope\n",
      "0::/user.slice/user-0.slice/session-3.scope\n",
      "0::/system.slice/containerd.service\n",
      "12:memory:/\n0::/\n",
      // cri-o's monitor runs beside the container, not in it.
      "0::/kubepods.slice/crio-conmon-" + std::string(64, 'b') + ".scope\n",
      "0::/docker/not-an-id\n",
      "",
      "garbage without colons",
  };
  for (const std::string& text : cases) EXPECT_FALSE(ParseCgroupFile(text).has_value()) << text;
}

TEST(CgroupParse, MountinfoFindsCgroup2) {
  std::string path = testing::TempDir() + "/mountinfo";
  std::ofstream(path) << "25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
                         "30 25 0:26 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n"
                         "41 30 0:35 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw,nsdelegate\n";
  EXPECT_EQ(CgroupV2Mount(path), "/sys/fs/cgroup/unified");
  std::ofstream(path) << "25 30 0:22 / /sys rw - sysfs sysfs rw\n";
  EXPECT_EQ(CgroupV2Mount(path), "");
}

// The real kernel path: mkdir a kubelet+containerd shaped cgroup, move a
// child into it, read its /proc/<pid>/cgroup back. Needs root and cgroup v2.
TEST(CgroupLive, ChildInContainerdShapedCgroup) {
  std::string v2 = CgroupV2Mount();
  ASSERT_FALSE(v2.empty()) << "no cgroup2 mount on this machine";
  ASSERT_EQ(geteuid(), 0u) << "creating cgroups needs root";
  namespace fs = std::filesystem;
  std::string uid_us = kUid;
  for (char& c : uid_us)
    if (c == '-') c = '_';
  // A test-owned top-level name so nothing real is touched; the rest of the
  // path is exactly what the kubelet (systemd driver) and containerd create.
  fs::path top = fs::path(v2) / ("sonde-test-" + std::to_string(getpid()) + ".slice");
  fs::path pod = top / "kubepods.slice" / ("kubepods-burstable-pod" + uid_us + ".slice");
  fs::path scope = pod / ("cri-containerd-" + kId + ".scope");
  fs::create_directories(scope);

  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  {
    std::ofstream procs(scope / "cgroup.procs");
    procs << child << "\n";
  }
  auto got = ContainerForPid("/proc", static_cast<uint32_t>(child));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // An empty cgroup can be removed, leaf first.
  for (fs::path p = scope; p != fs::path(v2); p = p.parent_path()) rmdir(p.c_str());
  EXPECT_FALSE(fs::exists(top));

  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, kId);
  EXPECT_EQ(got->runtime, "containerd");
  EXPECT_EQ(got->pod_uid, kUid);
  EXPECT_FALSE(ContainerForPid("/proc", static_cast<uint32_t>(getpid())).has_value() &&
               ContainerForPid("/proc", static_cast<uint32_t>(getpid()))->id == kId);
}

}  // namespace
}  // namespace sonde
