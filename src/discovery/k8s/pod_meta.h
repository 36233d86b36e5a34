// What sonde knows about the Kubernetes pod and container a process runs in,
// as read from the API server's Pod objects.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sonde {

struct PodContainer {
  std::string name;
  std::string id;                 // runtime id without the "containerd://" prefix
  std::string otel_service_name;  // env OTEL_SERVICE_NAME when set literally (not valueFrom)
};

struct PodInfo {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string node_name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // The controlling owner as the API reports it ("ReplicaSet", "checkout-7d9f8b6c5").
  std::string owner_kind;
  std::string owner_name;
  // The workload a person names: a Deployment for a ReplicaSet made by one,
  // else the owner itself (StatefulSet, DaemonSet, Job, a bare ReplicaSet).
  std::string workload_kind;
  std::string workload_name;
  std::vector<PodContainer> containers;  // spec containers, init and ephemeral ones included
};

// One container of one pod: the answer to "which pod is container X in".
struct PodMeta {
  PodInfo pod;
  std::string container_name;
  std::string container_otel_service_name;
};

}  // namespace sonde
