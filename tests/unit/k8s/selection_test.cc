// Selection rules: the `kubernetes:` config section and which containers it picks.
#include "discovery/k8s/selection.h"

#include <gtest/gtest.h>

#include <fstream>

namespace sonde {
namespace {

PodInfo Pod(const std::string& ns, const std::string& name, std::map<std::string, std::string> labels = {},
            std::map<std::string, std::string> annotations = {}) {
  PodInfo p;
  p.namespace_name = ns;
  p.name = name;
  p.uid = "u-" + name;
  p.labels = std::move(labels);
  p.annotations = std::move(annotations);
  return p;
}

K8sSelection Parse(const std::string& yaml) {
  K8sSettings s;
  std::string err = ParseK8sSettings(YAML::Load(yaml)["kubernetes"], &s);
  EXPECT_EQ(err, "") << yaml;
  return s.selection;
}

struct Row {
  const char* what;
  PodInfo pod;
  std::string container;
  bool selected;
};

TEST(K8sSelection, RulesTable) {
  K8sSelection sel = Parse(R"(
kubernetes:
  enabled: true
  include:
    - namespace: "mcp-*"
    - pod_labels: {app: checkout}
    - pod_annotations: {sonde.dev/trace: "*"}
    - {namespace: shop, container: "api-*"}
  exclude:
    - container: istio-proxy
    - pod_labels: {tier: "batch*"}
    - pod: "*-canary-*"
)");
  const Row rows[] = {
      {"namespace glob", Pod("mcp-prod", "a"), "app", true},
      {"namespace glob miss", Pod("prod-mcp", "a"), "app", false},
      {"label equals", Pod("default", "b", {{"app", "checkout"}}), "main", true},
      {"label other value", Pod("default", "b", {{"app", "cart"}}), "main", false},
      {"annotation exists", Pod("default", "c", {}, {{"sonde.dev/trace", ""}}), "main", true},
      {"AND within a rule: both", Pod("shop", "d"), "api-v2", true},
      {"AND within a rule: one", Pod("shop", "d"), "worker", false},
      {"exclude container wins", Pod("mcp-prod", "e"), "istio-proxy", false},
      {"exclude label glob wins", Pod("mcp-prod", "f", {{"tier", "batch-nightly"}}), "app", false},
      {"exclude pod name", Pod("mcp-prod", "web-canary-1"), "app", false},
      {"kube-system by default", Pod("kube-system", "coredns", {{"app", "checkout"}}), "c", false},
      {"sonde's own namespace by default", Pod("sonde", "sonde-abc", {{"app", "checkout"}}), "sonde", false},
  };
  for (const Row& r : rows) EXPECT_EQ(Selected(r.pod, r.container, sel), r.selected) << r.what;
}

TEST(K8sSelection, NoIncludeRulesMeansEverythingNotExcluded) {
  K8sSelection sel = Parse("kubernetes: {exclude: [{namespace: monitoring}]}");
  EXPECT_TRUE(Selected(Pod("default", "a"), "c", sel));
  EXPECT_FALSE(Selected(Pod("monitoring", "a"), "c", sel));
  EXPECT_FALSE(Selected(Pod("kube-system", "a"), "c", sel));
  sel.default_excludes = false;
  EXPECT_TRUE(Selected(Pod("kube-system", "a"), "c", sel));
}

TEST(K8sSelection, OperatorAnnotationsOptIn) {
  K8sSelection sel = Parse("kubernetes: {opt_in_operator_annotations: true}");
  EXPECT_TRUE(Selected(Pod("default", "a", {}, {{"instrumentation.opentelemetry.io/inject-python", "true"}}), "c", sel));
  EXPECT_FALSE(Selected(Pod("default", "a", {}, {{"instrumentation.opentelemetry.io/inject-java", "false"}}), "c", sel));
  // With opt-in on, an unannotated pod needs an include rule.
  EXPECT_FALSE(Selected(Pod("default", "b"), "c", sel));
  sel.include.push_back({"default", "", "", {}, {}});
  EXPECT_TRUE(Selected(Pod("default", "b"), "c", sel));
}

TEST(K8sSelection, LabelKeyWithoutValueMeansExists) {
  K8sSelection sel = Parse("kubernetes:\n  include:\n    - pod_labels: {team: }\n");
  EXPECT_TRUE(Selected(Pod("default", "a", {{"team", "payments"}}), "c", sel));
  EXPECT_FALSE(Selected(Pod("default", "a", {{"app", "x"}}), "c", sel));
}

TEST(K8sSelection, ErrorsNameTheBadKey) {
  struct Bad {
    std::string yaml;
    std::string error_has;
  };
  const Bad bad[] = {
      {"kubernetes: {enabeld: true}", "kubernetes.enabeld"},
      {"kubernetes: {include: [{namespace: a}, {pod_label: {a: b}}]}", "kubernetes.include[1].pod_label"},
      {"kubernetes: {exclude: {namespace: a}}", "kubernetes.exclude"},
      {"kubernetes: {include: [{}]}", "kubernetes.include[0]"},
      {"kubernetes: {include: [{pod_labels: [a, b]}]}", "kubernetes.include[0].pod_labels"},
      {"kubernetes: {enabled: maybe}", "kubernetes.enabled"},
      {"kubernetes: {opt_in_operator_annotations: 3}", "kubernetes.opt_in_operator_annotations"},
      {"kubernetes: {include: [{namespace: [a]}]}", "kubernetes.include[0].namespace"},
      {"kubernetes: [a]", "kubernetes"},
  };
  for (const Bad& b : bad) {
    K8sSettings s;
    std::string err = ParseK8sSettings(YAML::Load(b.yaml)["kubernetes"], &s);
    EXPECT_NE(err.find(b.error_has), std::string::npos) << b.yaml << " -> " << err;
  }
}

TEST(K8sSettings, ResolveFromEnvironment) {
  K8sSettings s;
  ASSERT_EQ(ParseK8sSettings(YAML::Load("kubernetes:\n  enabled: true\n  node_name: ${MY_NODE}\n")["kubernetes"], &s), "");
  s.namespace_path = testing::TempDir() + "/sa-namespace";
  std::ofstream(s.namespace_path) << "observability\n";
  std::map<std::string, std::string> env = {
      {"MY_NODE", "node-a"}, {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  EXPECT_EQ(ResolveK8sSettings(env, &s), "");
  EXPECT_EQ(s.node_name, "node-a");
  EXPECT_EQ(s.api_server, "https://10.96.0.1:443");
  EXPECT_EQ(s.selection.self_namespace, "observability");

  K8sSettings d;
  d.enabled = true;
  d.namespace_path = "/nonexistent";
  EXPECT_EQ(ResolveK8sSettings({{"K8S_NODE_NAME", "n1"}, {"KUBERNETES_SERVICE_HOST", "fd00::1"}}, &d), "");
  EXPECT_EQ(d.node_name, "n1");
  EXPECT_EQ(d.api_server, "https://[fd00::1]:443");
  EXPECT_EQ(d.selection.self_namespace, "sonde");

  K8sSettings none;
  none.enabled = true;
  none.namespace_path = "/nonexistent";
  EXPECT_NE(ResolveK8sSettings({}, &none).find("node name"), std::string::npos);
}

}  // namespace
}  // namespace sonde
