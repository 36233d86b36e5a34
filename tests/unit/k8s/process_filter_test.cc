// ClassifyPid over a fake /proc (only the cgroup files matter) and a pod
// cache filled directly.
#include "discovery/k8s/process_filter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_pods.h"

namespace sonde {
namespace {

namespace fs = std::filesystem;
using sonde::testing::HexId;

TEST(ClassifyPid, HostPodPendingAndExcluded) {
  fs::path proc = fs::path(::testing::TempDir()) / ("sonde-k8s-proc-" + std::to_string(getpid()));
  auto write = [&](uint32_t pid, const std::string& cgroup) {
    fs::create_directories(proc / std::to_string(pid));
    std::ofstream(proc / std::to_string(pid) / "cgroup") << cgroup;
  };
  write(10, "0::/system.slice/kubelet.service\n");
  write(11, "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + HexId('1') + ".scope\n");
  write(12, "0::/kubepods.slice/kubepods-pod2.slice/cri-containerd-" + HexId('2') + ".scope\n");
  write(13, "0::/kubepods.slice/kubepods-pod3.slice/cri-containerd-" + HexId('3') + ".scope\n");

  PodCache pods(KubeApiOptions{});
  PodInfo shop;
  shop.uid = "u1";
  shop.namespace_name = "shop";
  shop.containers = {{"api", HexId('1'), ""}};
  pods.Upsert(shop);
  PodInfo sys = shop;
  sys.uid = "u3";
  sys.namespace_name = "kube-system";
  sys.containers = {{"coredns", HexId('3'), ""}};
  pods.Upsert(sys);
  K8sSelection sel;

  EXPECT_EQ(ClassifyPid(proc.string(), 10, pods, sel).verdict, K8sVerdict::kDeny);  // host process
  K8sProcess p = ClassifyPid(proc.string(), 11, pods, sel);
  EXPECT_EQ(p.verdict, K8sVerdict::kAllow);
  ASSERT_TRUE(p.pod.has_value());
  EXPECT_EQ(p.pod->container_name, "api");
  EXPECT_EQ(p.container->id, HexId('1'));
  EXPECT_EQ(ClassifyPid(proc.string(), 12, pods, sel).verdict, K8sVerdict::kPending);  // pod not seen yet
  EXPECT_EQ(ClassifyPid(proc.string(), 13, pods, sel).verdict, K8sVerdict::kDeny);     // kube-system
  EXPECT_EQ(ClassifyPid(proc.string(), 99, pods, sel).verdict, K8sVerdict::kDeny);     // gone
  sel.host_processes = true;
  EXPECT_EQ(ClassifyPid(proc.string(), 10, pods, sel).verdict, K8sVerdict::kAllow);
  fs::remove_all(proc);
}

}  // namespace
}  // namespace sonde
