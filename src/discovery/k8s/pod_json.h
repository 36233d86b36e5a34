// Pod objects of the Kubernetes API (JSON) -> PodInfo. Pure: no I/O.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

#include "discovery/k8s/pod_meta.h"

namespace sonde {

// Reads a v1 Pod object. False when it lacks metadata.uid (not a pod).
bool ParsePod(const nlohmann::json& pod, PodInfo* out);
// The same from JSON text (tests, tools).
bool ParsePodText(std::string_view json_text, PodInfo* out);

// "containerd://<id>", "docker://<id>", "cri-o://<id>" -> "<id>".
std::string StripRuntimeScheme(std::string_view container_id);

// Deployment name of a pod owned by a ReplicaSet that a Deployment made: the
// Deployment controller names the ReplicaSet "<deployment>-<pod-template-hash>"
// and copies the hash into the pod's label, so stripping it is exact and needs
// no read access to ReplicaSets. "" when the pod has no such label (a bare ReplicaSet).
std::string DeploymentFromReplicaSet(const std::string& replicaset_name, const std::string& pod_template_hash);

}  // namespace sonde
