#include "discovery/k8s/attributes.h"

namespace sonde {

Attributes K8sResourceAttributes(const PodMeta& m, const std::string& container_id) {
  Attributes a;
  auto add = [&](const char* key, const std::string& v) {
    if (!v.empty()) a.push_back({key, v});
  };
  const PodInfo& p = m.pod;
  add("k8s.namespace.name", p.namespace_name);
  add("k8s.pod.name", p.name);
  add("k8s.pod.uid", p.uid);
  add("k8s.container.name", m.container_name);
  add("k8s.node.name", p.node_name);
  if (p.owner_kind == "ReplicaSet") add("k8s.replicaset.name", p.owner_name);
  if (p.workload_kind == "Deployment") add("k8s.deployment.name", p.workload_name);
  if (p.workload_kind == "StatefulSet") add("k8s.statefulset.name", p.workload_name);
  if (p.workload_kind == "DaemonSet") add("k8s.daemonset.name", p.workload_name);
  if (p.workload_kind == "Job") add("k8s.job.name", p.workload_name);
  add("container.id", container_id);
  add("service.namespace", p.namespace_name);
  return a;
}

std::string K8sServiceName(const PodMeta& m) {
  if (!m.container_otel_service_name.empty()) return m.container_otel_service_name;
  auto it = m.pod.labels.find("app.kubernetes.io/name");
  if (it != m.pod.labels.end() && !it->second.empty()) return it->second;
  if (!m.pod.workload_name.empty()) return m.pod.workload_name;
  return m.pod.name;
}

}  // namespace sonde
