#include "discovery/k8s/pod_json.h"

#include <nlohmann/json.hpp>

namespace sonde {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void StringMap(const json& j, const char* key, std::map<std::string, std::string>* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return;
  for (auto kv = it->begin(); kv != it->end(); ++kv)
    if (kv->is_string()) (*out)[kv.key()] = kv->get<std::string>();
}

PodContainer* FindContainer(PodInfo* p, const std::string& name) {
  for (auto& c : p->containers)
    if (c.name == name) return &c;
  return nullptr;
}

void SpecContainers(const json& spec, const char* key, PodInfo* out) {
  auto it = spec.find(key);
  if (it == spec.end() || !it->is_array()) return;
  for (const json& c : *it) {
    if (!c.is_object()) continue;
    PodContainer pc;
    pc.name = Str(c, "name");
    auto env = c.find("env");
    if (env != c.end() && env->is_array()) {
      for (const json& e : *env) {
        // Only a literal value is the service's own name; valueFrom would
        // need Secret/ConfigMap reads sonde deliberately has no right to.
        if (e.is_object() && Str(e, "name") == "OTEL_SERVICE_NAME" && e.contains("value"))
          pc.otel_service_name = Str(e, "value");
      }
    }
    out->containers.push_back(std::move(pc));
  }
}

void StatusContainers(const json& status, const char* key, PodInfo* out) {
  auto it = status.find(key);
  if (it == status.end() || !it->is_array()) return;
  for (const json& s : *it) {
    if (!s.is_object()) continue;
    std::string name = Str(s, "name");
    std::string id = StripRuntimeScheme(Str(s, "containerID"));
    PodContainer* pc = FindContainer(out, name);
    if (!pc) {
      out->containers.push_back({name, "", ""});
      pc = &out->containers.back();
    }
    pc->id = id;
  }
}

}  // namespace

std::string StripRuntimeScheme(std::string_view id) {
  size_t p = id.find("://");
  return std::string(p == std::string_view::npos ? id : id.substr(p + 3));
}

std::string DeploymentFromReplicaSet(const std::string& rs, const std::string& hash) {
  if (hash.empty() || rs.size() <= hash.size() + 1) return {};
  if (rs.compare(rs.size() - hash.size(), hash.size(), hash) != 0 || rs[rs.size() - hash.size() - 1] != '-')
    return {};
  return rs.substr(0, rs.size() - hash.size() - 1);
}

bool ParsePod(const json& pod, PodInfo* out) {
  *out = PodInfo();
  if (!pod.is_object()) return false;
  auto meta_it = pod.find("metadata");
  if (meta_it == pod.end() || !meta_it->is_object()) return false;
  const json& meta = *meta_it;
  out->uid = Str(meta, "uid");
  if (out->uid.empty()) return false;
  out->namespace_name = Str(meta, "namespace");
  out->name = Str(meta, "name");
  StringMap(meta, "labels", &out->labels);
  StringMap(meta, "annotations", &out->annotations);
  auto owners = meta.find("ownerReferences");
  if (owners != meta.end() && owners->is_array()) {
    for (const json& o : *owners) {
      // The controller owner is the workload; other owners are just garbage-collection links.
      if (!o.is_object() || !o.value("controller", false)) continue;
      out->owner_kind = Str(o, "kind");
      out->owner_name = Str(o, "name");
      break;
    }
  }
  out->workload_kind = out->owner_kind;
  out->workload_name = out->owner_name;
  if (out->owner_kind == "ReplicaSet") {
    auto h = out->labels.find("pod-template-hash");
    std::string dep = DeploymentFromReplicaSet(out->owner_name, h == out->labels.end() ? "" : h->second);
    if (!dep.empty()) {
      out->workload_kind = "Deployment";
      out->workload_name = dep;
    }
  }
  if (auto spec = pod.find("spec"); spec != pod.end() && spec->is_object()) {
    out->node_name = Str(*spec, "nodeName");
    SpecContainers(*spec, "initContainers", out);
    SpecContainers(*spec, "containers", out);
    SpecContainers(*spec, "ephemeralContainers", out);
  }
  if (auto status = pod.find("status"); status != pod.end() && status->is_object()) {
    StatusContainers(*status, "initContainerStatuses", out);
    StatusContainers(*status, "containerStatuses", out);
    StatusContainers(*status, "ephemeralContainerStatuses", out);
  }
  return true;
}

bool ParsePodText(std::string_view text, PodInfo* out) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return !j.is_discarded() && ParsePod(j, out);
}

}  // namespace sonde
