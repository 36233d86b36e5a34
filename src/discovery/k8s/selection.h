// Which containers sonde traces on a Kubernetes node: include and exclude
// rules over namespace, pod name, pod labels and annotations, and container
// name. Pure functions; the agent combines them with the process rules
// (select.exe, select.ports, select.pids).
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "discovery/k8s/pod_meta.h"

namespace sonde {

// One rule: every field that is set must match (AND). All patterns are
// shell globs (fnmatch): "mcp-*", "checkout", "*". A label or annotation
// pattern "*" means "the key exists, any value".
struct K8sRule {
  std::string namespace_glob;
  std::string pod_glob;
  std::string container_glob;
  std::map<std::string, std::string> pod_labels;
  std::map<std::string, std::string> pod_annotations;
};

struct K8sSelection {
  std::vector<K8sRule> include;  // empty: every pod not excluded
  std::vector<K8sRule> exclude;  // any match excludes; wins over include
  // kube-system and sonde's own namespace are excluded unless this is false.
  bool default_excludes = true;
  std::string self_namespace = "sonde";
  // Pods annotated instrumentation.opentelemetry.io/inject-<lang>: "true"
  // (the OpenTelemetry Operator's opt-in) count as included.
  bool opt_in_operator_annotations = false;
  // Processes on the node outside any pod (kubelet, containerd, sshd).
  bool host_processes = false;
};

// The whole `kubernetes:` section of the config file.
struct K8sSettings {
  bool enabled = false;
  std::string node_name;      // "" or "${VAR}": resolved by ResolveK8sSettings
  std::string api_server;     // "" = in-cluster https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
  std::string token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_path = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
  // The host's /proc as seen by the agent ("/host/proc" in the DaemonSet):
  // the proc_root for Discovery and ContainerForPid.
  std::string host_proc = "/proc";
  K8sSelection selection;
};

// True when a container of this pod is traced by the rules.
bool Selected(const PodInfo& pod, const std::string& container, const K8sSelection& sel);

// Parses the rule keys (include, exclude, default_excludes,
// opt_in_operator_annotations, host_processes) of a `kubernetes:` mapping
// into `out`; other keys are left to ParseK8sSettings. Returns an error
// naming the bad key ("kubernetes.include[1].pod_label"), "" when valid.
std::string ParseK8sSelection(const YAML::Node& kubernetes, K8sSelection* out);
// Parses the whole `kubernetes:` mapping; unknown keys are errors.
std::string ParseK8sSettings(const YAML::Node& kubernetes, K8sSettings* out);

// Fills what the file left to the environment: node_name from "${VAR}" or,
// when empty, K8S_NODE_NAME (then NODE_NAME); api_server from
// KUBERNETES_SERVICE_HOST/PORT; selection.self_namespace from POD_NAMESPACE,
// else the service account's namespace file. Error when enabled and no node name.
std::string ResolveK8sSettings(const std::map<std::string, std::string>& env, K8sSettings* s);

}  // namespace sonde
