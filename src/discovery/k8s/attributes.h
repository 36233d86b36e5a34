// OpenTelemetry resource attributes of a process running in a pod
// (semantic conventions k8s.* and container.*).
#pragma once

#include <string>

#include "discovery/k8s/pod_meta.h"
#include "spans/span.h"

namespace sonde {

// k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.container.name,
// k8s.node.name, the workload (k8s.deployment.name, k8s.replicaset.name,
// k8s.statefulset.name, k8s.daemonset.name, k8s.job.name — those the pod
// has), container.id; then service.namespace = the k8s namespace. Empty
// values are left out. The agent appends these to the process resource,
// without overriding keys the process set itself (OTEL_RESOURCE_ATTRIBUTES).
Attributes K8sResourceAttributes(const PodMeta& meta, const std::string& container_id);

// service.name for a process in a pod whose own environment has no
// OTEL_SERVICE_NAME: the container's OTEL_SERVICE_NAME from the pod spec,
// else the app.kubernetes.io/name label, else the workload's name
// (Deployment, StatefulSet, ...), else the pod name.
std::string K8sServiceName(const PodMeta& meta);

}  // namespace sonde
