// The deploy/ manifests, checked mechanically: `kubectl apply --dry-run`
// needs an API server even in client mode, so every file is parsed here
// with yaml-cpp and the fields a cluster would reject (or that would make
// the agent fail) are checked, and the ConfigMap's config goes through the
// agent's own parser.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agent/config.h"
#include "discovery/k8s/selection.h"

namespace sonde {
namespace {

namespace fs = std::filesystem;
const fs::path kDeploy = fs::path(SONDE_SOURCE_DIR) / "deploy";

std::string ReadText(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Manifests {
  std::vector<std::pair<std::string, YAML::Node>> docs;  // file, document
  std::vector<std::string> files;                        // relative to deploy/

  Manifests() {
    for (const char* dir : {"daemonset", "collector"}) {
      for (const auto& e : fs::directory_iterator(kDeploy / dir)) {
        if (e.path().extension() != ".yaml") continue;
        std::string rel = std::string(dir) + "/" + e.path().filename().string();
        files.push_back(rel);
        for (const YAML::Node& d : YAML::LoadAllFromFile(e.path().string()))
          if (!d.IsNull()) docs.push_back({rel, d});
      }
    }
  }
  YAML::Node Find(const std::string& kind, const std::string& name) const {
    for (const auto& [f, d] : docs)
      if (d["kind"].as<std::string>() == kind && d["metadata"]["name"].as<std::string>() == name) return d;
    ADD_FAILURE() << "no " << kind << " " << name;
    return YAML::Node();
  }
};

const Manifests& All() {
  static Manifests m;
  return m;
}

TEST(Manifests, EveryDocumentIsAKnownKindWithNameAndNamespace) {
  const std::map<std::string, std::string> api = {
      {"Namespace", "v1"},       {"ServiceAccount", "v1"},
      {"ConfigMap", "v1"},       {"Service", "v1"},
      {"DaemonSet", "apps/v1"},  {"Deployment", "apps/v1"},
      {"ClusterRole", "rbac.authorization.k8s.io/v1"},
      {"ClusterRoleBinding", "rbac.authorization.k8s.io/v1"}};
  const std::set<std::string> cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"};
  ASSERT_GE(All().docs.size(), 9u);
  for (const auto& [file, d] : All().docs) {
    SCOPED_TRACE(file);
    ASSERT_TRUE(d["kind"] && d["apiVersion"] && d["metadata"]["name"]);
    std::string kind = d["kind"].as<std::string>();
    ASSERT_TRUE(api.count(kind)) << kind;
    EXPECT_EQ(d["apiVersion"].as<std::string>(), api.at(kind)) << kind;
    if (cluster_scoped.count(kind))
      EXPECT_FALSE(d["metadata"]["namespace"]) << kind;
    else
      EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(""), "sonde") << kind;
  }
}

TEST(Manifests, KustomizationListsEveryFile) {
  YAML::Node k = YAML::LoadFile((kDeploy / "kustomization.yaml").string());
  std::vector<std::string> listed;
  for (const auto& r : k["resources"]) listed.push_back(r.as<std::string>());
  std::vector<std::string> files = All().files;
  std::sort(files.begin(), files.end());
  std::vector<std::string> sorted = listed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, files);
  EXPECT_EQ(listed.front(), "daemonset/00-namespace.yaml");
}

TEST(Manifests, RbacIsReadOnlyPodsBoundToTheServiceAccount) {
  YAML::Node role = All().Find("ClusterRole", "sonde");
  ASSERT_EQ(role["rules"].size(), 1u);
  EXPECT_EQ(role["rules"][0]["resources"][0].as<std::string>(), "pods");
  std::set<std::string> verbs;
  for (const auto& v : role["rules"][0]["verbs"]) verbs.insert(v.as<std::string>());
  EXPECT_EQ(verbs, (std::set<std::string>{"get", "list", "watch"}));
  YAML::Node b = All().Find("ClusterRoleBinding", "sonde");
  EXPECT_EQ(b["roleRef"]["name"].as<std::string>(), "sonde");
  EXPECT_EQ(b["subjects"][0]["name"].as<std::string>(), "sonde");
  EXPECT_EQ(b["subjects"][0]["namespace"].as<std::string>(), "sonde");
  All().Find("ServiceAccount", "sonde");
}

TEST(Manifests, DaemonSetHasWhatTheAgentNeeds) {
  YAML::Node ds = All().Find("DaemonSet", "sonde");
  YAML::Node spec = ds["spec"]["template"]["spec"];
  EXPECT_EQ(ds["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(),
            ds["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>());
  EXPECT_TRUE(spec["hostPID"].as<bool>());
  EXPECT_EQ(spec["serviceAccountName"].as<std::string>(), "sonde");
  YAML::Node c = spec["containers"][0];
  std::set<std::string> caps;
  for (const auto& cap : c["securityContext"]["capabilities"]["add"]) caps.insert(cap.as<std::string>());
  EXPECT_EQ(caps, (std::set<std::string>{"BPF", "PERFMON", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"}));
  // The API server refuses allowPrivilegeEscalation=false with SYS_ADMIN.
  EXPECT_TRUE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>());

  std::map<std::string, std::string> host_paths, mounts;
  for (const auto& v : spec["volumes"])
    if (v["hostPath"]) host_paths[v["name"].as<std::string>()] = v["hostPath"]["path"].as<std::string>();
  for (const auto& m : c["volumeMounts"]) mounts[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
  for (const char* p : {"/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/proc"}) {
    auto it = std::find_if(host_paths.begin(), host_paths.end(), [&](auto& kv) { return kv.second == p; });
    ASSERT_NE(it, host_paths.end()) << p;
    EXPECT_EQ(mounts[it->first], std::string(p) == "/proc" ? "/host/proc" : p);
  }

  std::map<std::string, YAML::Node> env;
  for (const auto& e : c["env"]) env[e["name"].as<std::string>()].reset(e);
  EXPECT_EQ(env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"].as<std::string>(), "http://otel-collector.sonde.svc:4317");
  EXPECT_EQ(env["K8S_NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>(), "spec.nodeName");

  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 9464);
  std::string port_name = c["ports"][0]["name"].as<std::string>();
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    EXPECT_EQ(c[probe]["httpGet"]["path"].as<std::string>(), "/healthz") << probe;
    EXPECT_EQ(c[probe]["httpGet"]["port"].as<std::string>(), port_name) << probe;
  }
  for (const char* k : {"requests", "limits"})
    EXPECT_TRUE(c["resources"][k]["cpu"] && c["resources"][k]["memory"]) << k;

  // --config points into the ConfigMap's folder mount, at a key it has.
  std::vector<std::string> args = c["args"].as<std::vector<std::string>>();
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0], "--config");
  YAML::Node cm_volume;
  for (const auto& v : spec["volumes"])
    if (v["configMap"]) cm_volume.reset(v);
  ASSERT_TRUE(cm_volume);
  fs::path cfg(args[1]);
  EXPECT_EQ(mounts[cm_volume["name"].as<std::string>()], cfg.parent_path().string());
  YAML::Node cm = All().Find("ConfigMap", cm_volume["configMap"]["name"].as<std::string>());
  EXPECT_TRUE(cm["data"][cfg.filename().string()]);
}

TEST(Manifests, ConfigMapConfigParsesWithTheAgentsParser) {
  YAML::Node cm = All().Find("ConfigMap", "sonde-config");
  std::string text = cm["data"]["config.yaml"].as<std::string>();
  ASSERT_TRUE(YAML::Load(text)["kubernetes"]);
  // The whole file, exactly as the agent reads it from the mounted ConfigMap.
  Config cfg;
  EXPECT_EQ(ApplyYamlConfig(text, "configmap", &cfg), "");
  ASSERT_EQ(cfg.outputs.size(), 1u);
  EXPECT_EQ(cfg.outputs[0].kind, OutputSpec::Kind::kOtlp);
  EXPECT_EQ(cfg.admin_address, "0.0.0.0:9464") << "the kubelet probes the pod IP";
  K8sSettings k8s = cfg.kubernetes;

  EXPECT_TRUE(k8s.enabled);
  EXPECT_EQ(k8s.host_proc, "/host/proc");
  k8s.namespace_path = "/nonexistent";
  EXPECT_EQ(ResolveK8sSettings({{"K8S_NODE_NAME", "node-a"}, {"POD_NAMESPACE", "sonde"},
                                {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
                               &k8s),
            "");
  EXPECT_EQ(k8s.node_name, "node-a");
  PodInfo proxy;
  proxy.namespace_name = "shop";
  EXPECT_FALSE(Selected(proxy, "istio-proxy", k8s.selection));
  EXPECT_TRUE(Selected(proxy, "api", k8s.selection));
}

TEST(Manifests, CollectorServesTheEndpointTheAgentUses) {
  YAML::Node svc = All().Find("Service", "otel-collector");
  YAML::Node dep = All().Find("Deployment", "otel-collector");
  EXPECT_EQ(svc["spec"]["selector"]["app.kubernetes.io/name"].as<std::string>(),
            dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>());
  bool grpc = false;
  for (const auto& p : svc["spec"]["ports"]) grpc |= p["port"].as<int>() == 4317;
  EXPECT_TRUE(grpc);
  YAML::Node cfg = YAML::Load(All().Find("ConfigMap", "otel-collector-config")["data"]["config.yaml"].as<std::string>());
  YAML::Node traces = cfg["service"]["pipelines"]["traces"];
  for (const auto& r : traces["receivers"]) EXPECT_TRUE(cfg["receivers"][r.as<std::string>()]) << r.as<std::string>();
  for (const auto& e : traces["exporters"]) EXPECT_TRUE(cfg["exporters"][e.as<std::string>()]) << e.as<std::string>();
  EXPECT_EQ(cfg["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].as<std::string>(), "0.0.0.0:4317");
}

TEST(Manifests, DockerfileIsMultiStageOnBookworm) {
  std::string df = ReadText(kDeploy / "Dockerfile");
  EXPECT_NE(df.find("FROM debian:bookworm AS build"), std::string::npos);
  EXPECT_NE(df.find("FROM debian:bookworm-slim"), std::string::npos);
  EXPECT_NE(df.find("COPY --from=build /build/sonde"), std::string::npos);
  // Every -dev package of the build stage stays out of the runtime stage.
  std::string runtime = df.substr(df.find("FROM debian:bookworm-slim"));
  EXPECT_EQ(runtime.find("-dev"), std::string::npos);
}

}  // namespace
}  // namespace sonde
