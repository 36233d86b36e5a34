// Kubernetes mode end to end: processes in container-runtime-shaped cgroups
// that the test creates, pods served by a fake API server (a real one cannot
// run here; the fake serves the real API's JSON shape), the real BPF programs.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "discovery/k8s/cgroup.h"
#include "sonde_fixture.h"
#include "tests/unit/k8s/fake_api_server.h"
#include "tests/unit/k8s/test_pods.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

// A kubelet (systemd driver) + containerd shaped cgroup under a test-owned
// top-level slice, removed (leaf first) at the end.
class PodCgroup {
 public:
  PodCgroup(const std::string& pod_uid, const std::string& container_id) {
    std::string v2 = CgroupV2Mount();
    if (v2.empty()) throw std::runtime_error("no cgroup2 mount on this machine");
    std::string uid = pod_uid;
    for (char& c : uid)
      if (c == '-') c = '_';
    root_ = v2;
    top_ = fs::path(v2) / ("sonde-it-" + std::to_string(getpid()) + "-" + container_id.substr(0, 4) + ".slice");
    scope_ = top_ / "kubepods.slice" / ("kubepods-burstable-pod" + uid + ".slice") /
             ("cri-containerd-" + container_id + ".scope");
    fs::create_directories(scope_);
  }
  void Add(pid_t pid) { std::ofstream(scope_ / "cgroup.procs") << pid << "\n"; }
  ~PodCgroup() {
    for (fs::path p = scope_; p != fs::path(root_); p = p.parent_path()) rmdir(p.c_str());
  }

 private:
  std::string root_;
  fs::path top_, scope_;
};

TEST_F(SondeTest, PodsOfSelectedNamespacesGetKubernetesResourceAttributes) {
  const std::string uid_a = "4f2a9c1e-1111-4a7b-9c3d-5e6f7a8b9c0d", uid_b = "4f2a9c1e-2222-4a7b-9c3d-5e6f7a8b9c0d";
  const std::string id_a = HexId('a'), id_b = HexId('b');
  FakeApiServer api;
  api.AddPod(MakePod("checkout-7d9f8b6c5-x2x4z", "mcp-system", uid_a, "node-1", "api", id_a, "checkout"));
  api.AddPod(MakePod("coredns-7d9f8b6c5-qq", "kube-system", uid_b, "node-1", "coredns", id_b, "coredns"));
  PodCgroup cg_a(uid_a, id_a), cg_b(uid_b, id_b);

  uint16_t port_a = FreePort(), port_b = FreePort();
  Child a({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port_a)});
  Child b({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port_b)});
  ASSERT_TRUE(a.WaitForLine("listening", milliseconds(10000)));
  ASSERT_TRUE(b.WaitForLine("listening", milliseconds(10000)));
  cg_a.Add(a.pid());
  cg_b.Add(b.pid());

  std::string cfg = BinaryDir() + "/tests/integration/k8s-sonde.yaml";
  std::ofstream(cfg) << "kubernetes:\n  enabled: true\n  node_name: node-1\n  api_server: " << api.url()
                     << "\n  token_path: \"\"\n  ca_path: \"\"\n  include: [{namespace: \"mcp-*\"}]\n";
  StartSonde({"--config", cfg});
  for (uint16_t port : {port_a, port_b}) {
    Child curl({"curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(port) + "/orders/12"});
    ASSERT_EQ(curl.Wait(milliseconds(5000)), 0);
  }
  auto spans = SpansOf(a.pid(), 1, kServer);
  ASSERT_EQ(spans.size(), 1u);
  const auto& r = spans[0].resource;
  EXPECT_EQ(r.at("k8s.namespace.name"), "mcp-system");
  EXPECT_EQ(r.at("k8s.pod.name"), "checkout-7d9f8b6c5-x2x4z");
  EXPECT_EQ(r.at("k8s.pod.uid"), uid_a);
  EXPECT_EQ(r.at("k8s.container.name"), "api");
  EXPECT_EQ(r.at("k8s.deployment.name"), "checkout");
  EXPECT_EQ(r.at("k8s.node.name"), "node-1");
  EXPECT_EQ(r.at("container.id"), id_a);
  EXPECT_EQ(r.at("service.name"), "checkout");
  EXPECT_EQ(r.at("service.namespace"), "mcp-system");
  EXPECT_EQ(spans[0].name, "GET /orders/{id}");
  EXPECT_TRUE(SettledSpansOf(b.pid()).empty()) << "kube-system is excluded";
  for (auto& s : receiver_->Spans())
    EXPECT_NE(s.resource.at("process.pid"), std::to_string(b.pid()));
  // Host processes (curl) are not traced in Kubernetes mode.
  for (auto& s : receiver_->Spans()) EXPECT_EQ(s.resource.count("k8s.pod.uid"), 1u) << s.name;
  StopSonde();
}

}  // namespace
}  // namespace sonde::testing
