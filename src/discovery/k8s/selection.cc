#include "discovery/k8s/selection.h"

#include <fnmatch.h>

#include <fstream>
#include <set>

namespace sonde {
namespace {

constexpr std::string_view kInjectPrefix = "instrumentation.opentelemetry.io/inject-";

bool Glob(const std::string& pattern, const std::string& value) {
  return fnmatch(pattern.c_str(), value.c_str(), 0) == 0;
}

bool MapMatches(const std::map<std::string, std::string>& want, const std::map<std::string, std::string>& have) {
  for (const auto& [k, pattern] : want) {
    auto it = have.find(k);
    if (it == have.end() || !Glob(pattern, it->second)) return false;
  }
  return true;
}

bool RuleMatches(const K8sRule& r, const PodInfo& pod, const std::string& container) {
  if (!r.namespace_glob.empty() && !Glob(r.namespace_glob, pod.namespace_name)) return false;
  if (!r.pod_glob.empty() && !Glob(r.pod_glob, pod.name)) return false;
  if (!r.container_glob.empty() && !Glob(r.container_glob, container)) return false;
  return MapMatches(r.pod_labels, pod.labels) && MapMatches(r.pod_annotations, pod.annotations);
}

bool OperatorOptIn(const PodInfo& pod) {
  for (const auto& [k, v] : pod.annotations)
    if (k.compare(0, kInjectPrefix.size(), kInjectPrefix) == 0 && v == "true") return true;
  return false;
}

struct Error {
  std::string message;
};

std::string Scalar(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) throw Error{"'" + where + "' must be a string"};
  return n.as<std::string>();
}

bool Bool(const YAML::Node& n, const std::string& where) {
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) throw Error{"'" + where + "' must be true or false"};
  return v;
}

void CheckKeys(const YAML::Node& n, const std::string& where, const std::set<std::string>& known) {
  if (!n.IsMap()) throw Error{"'" + where + "' must be a mapping"};
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (!known.count(key)) throw Error{"unknown config key '" + where + "." + key + "'"};
  }
}

std::map<std::string, std::string> GlobMap(const YAML::Node& n, const std::string& where) {
  if (!n.IsMap()) throw Error{"'" + where + "' must be a mapping of key: value-glob (\"*\" = key exists)"};
  std::map<std::string, std::string> out;
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    // `key:` with no value, or `key: ~`, also means "the key exists".
    out[key] = kv.second.IsNull() ? "*" : Scalar(kv.second, where + "." + key);
  }
  return out;
}

std::vector<K8sRule> Rules(const YAML::Node& n, const std::string& where) {
  if (!n.IsSequence()) throw Error{"'" + where + "' must be a list of rules"};
  std::vector<K8sRule> out;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    const YAML::Node& r = n[i];
    CheckKeys(r, at, {"namespace", "pod", "container", "pod_labels", "pod_annotations"});
    if (r.size() == 0) throw Error{"'" + at + "' is an empty rule (it would match every pod)"};
    K8sRule rule;
    if (r["namespace"]) rule.namespace_glob = Scalar(r["namespace"], at + ".namespace");
    if (r["pod"]) rule.pod_glob = Scalar(r["pod"], at + ".pod");
    if (r["container"]) rule.container_glob = Scalar(r["container"], at + ".container");
    if (r["pod_labels"]) rule.pod_labels = GlobMap(r["pod_labels"], at + ".pod_labels");
    if (r["pod_annotations"]) rule.pod_annotations = GlobMap(r["pod_annotations"], at + ".pod_annotations");
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

bool Selected(const PodInfo& pod, const std::string& container, const K8sSelection& sel) {
  if (sel.default_excludes &&
      (pod.namespace_name == "kube-system" || (!sel.self_namespace.empty() && pod.namespace_name == sel.self_namespace)))
    return false;
  for (const K8sRule& r : sel.exclude)
    if (RuleMatches(r, pod, container)) return false;
  if (sel.include.empty() && !sel.opt_in_operator_annotations) return true;
  if (sel.opt_in_operator_annotations && OperatorOptIn(pod)) return true;
  for (const K8sRule& r : sel.include)
    if (RuleMatches(r, pod, container)) return true;
  return false;
}

std::string ParseK8sSelection(const YAML::Node& k, K8sSelection* out) {
  try {
    if (!k.IsMap()) return "'kubernetes' must be a mapping";
    if (k["include"]) out->include = Rules(k["include"], "kubernetes.include");
    if (k["exclude"]) out->exclude = Rules(k["exclude"], "kubernetes.exclude");
    if (k["default_excludes"]) out->default_excludes = Bool(k["default_excludes"], "kubernetes.default_excludes");
    if (k["opt_in_operator_annotations"])
      out->opt_in_operator_annotations =
          Bool(k["opt_in_operator_annotations"], "kubernetes.opt_in_operator_annotations");
    if (k["host_processes"]) out->host_processes = Bool(k["host_processes"], "kubernetes.host_processes");
  } catch (const Error& e) {
    return e.message;
  } catch (const YAML::Exception& e) {
    return std::string("kubernetes: ") + e.what();
  }
  return {};
}

std::string ParseK8sSettings(const YAML::Node& k, K8sSettings* out) {
  try {
    if (k.IsNull()) return {};
    CheckKeys(k, "kubernetes",
              {"enabled", "node_name", "api_server", "token_path", "ca_path", "host_proc", "include", "exclude",
               "default_excludes", "opt_in_operator_annotations", "host_processes"});
    if (k["enabled"]) out->enabled = Bool(k["enabled"], "kubernetes.enabled");
    if (k["node_name"]) out->node_name = Scalar(k["node_name"], "kubernetes.node_name");
    if (k["api_server"]) out->api_server = Scalar(k["api_server"], "kubernetes.api_server");
    if (k["token_path"]) out->token_path = Scalar(k["token_path"], "kubernetes.token_path");
    if (k["ca_path"]) out->ca_path = Scalar(k["ca_path"], "kubernetes.ca_path");
    if (k["host_proc"]) out->host_proc = Scalar(k["host_proc"], "kubernetes.host_proc");
  } catch (const Error& e) {
    return e.message;
  } catch (const YAML::Exception& e) {
    return std::string("kubernetes: ") + e.what();
  }
  return ParseK8sSelection(k, &out->selection);
}

std::string ResolveK8sSettings(const std::map<std::string, std::string>& env, K8sSettings* s) {
  auto get = [&](const std::string& k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  // The ConfigMap is not templated by Kubernetes, so "${K8S_NODE_NAME}" is
  // expanded here from the downward-API variable of the same name.
  std::string& node = s->node_name;
  if (node.size() > 3 && node.compare(0, 2, "${") == 0 && node.back() == '}') node = get(node.substr(2, node.size() - 3));
  if (node.empty()) node = get("K8S_NODE_NAME");
  if (node.empty()) node = get("NODE_NAME");
  if (s->api_server.empty()) {
    std::string host = get("KUBERNETES_SERVICE_HOST"), port = get("KUBERNETES_SERVICE_PORT");
    if (!host.empty()) {
      if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6 service address
      s->api_server = "https://" + host + ":" + (port.empty() ? "443" : port);
    }
  }
  std::string ns = get("POD_NAMESPACE");
  if (ns.empty()) {
    std::ifstream f(s->namespace_path);
    std::getline(f, ns);
  }
  if (!ns.empty()) s->selection.self_namespace = ns;
  if (!s->enabled) return {};
  if (node.empty()) return "kubernetes.enabled is true but no node name: set kubernetes.node_name or K8S_NODE_NAME";
  if (s->api_server.empty())
    return "kubernetes.enabled is true but no API server: set kubernetes.api_server or run in a pod "
           "(KUBERNETES_SERVICE_HOST)";
  return {};
}

}  // namespace sonde
