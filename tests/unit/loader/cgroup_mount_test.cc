// Where the sock_ops program of traceparent injection is attached: the
// cgroup v2 mount, found in /proc/mounts.
#include <gtest/gtest.h>

#include "loader/loader.h"

namespace sonde {
namespace {

TEST(Cgroup2Mount, HybridLayout) {
  const char* mounts =
      "sysfs /sys sysfs rw,nosuid 0 0\n"
      "tmpfs /sys/fs/cgroup tmpfs ro,nosuid 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n"
      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n";
  EXPECT_EQ(FindCgroup2Mount(mounts), "/sys/fs/cgroup/unified");
}

TEST(Cgroup2Mount, PureV2) {
  EXPECT_EQ(FindCgroup2Mount("cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n"), "/sys/fs/cgroup");
}

TEST(Cgroup2Mount, NoneOrOnlyV1) {
  EXPECT_EQ(FindCgroup2Mount(""), "");
  EXPECT_EQ(FindCgroup2Mount("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"), "");
  EXPECT_EQ(FindCgroup2Mount("garbage\n\n"), "");
}

TEST(Cgroup2Mount, EscapedSpaces) {
  EXPECT_EQ(FindCgroup2Mount("none /mnt/my\\040cgroup cgroup2 rw 0 0\n"), "/mnt/my cgroup");
}

}  // namespace
}  // namespace sonde
