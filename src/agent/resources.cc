#include "agent/resources.h"

#include "discovery/k8s/attributes.h"
#include "spans/resource.h"

namespace sonde {
namespace {

// Pod identity on top of the process's own attributes; the process's own
// OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES keep precedence.
std::shared_ptr<const Resource> WithPod(std::shared_ptr<const Resource> base, const ProcessInfo& info,
                                        const K8sProcess& pod) {
  auto r = std::make_shared<Resource>(*base);
  bool own_name = !info.otel_service_name.empty() ||
                  info.otel_resource_attributes.find("service.name=") != std::string::npos;
  if (!own_name) {
    std::string name = K8sServiceName(*pod.pod);
    for (auto& a : r->attributes)
      if (a.key == "service.name" && !name.empty()) a.value = name;
  }
  for (Attribute& a : K8sResourceAttributes(*pod.pod, pod.container ? pod.container->id : std::string())) {
    if (!FindAttr(r->attributes, a.key)) r->attributes.push_back(std::move(a));
  }
  return r;
}

}  // namespace

std::shared_ptr<const Resource> Resources::Get(uint32_t pid) {
  auto it = cache_.find(pid);
  if (it != cache_.end()) return it->second;
  const ProcessInfo* info = traced_->discovery().Info(pid);
  ProcessInfo fallback;
  if (!info) {
    // Already gone (a short-lived client): what the kernel told us.
    fallback.pid = pid;
    auto c = comms_.find(pid);
    if (c != comms_.end()) fallback.comm = fallback.exe_path = c->second;
    info = &fallback;
  }
  auto res = BuildProcessResource(*info, host_);
  const K8sProcess* pod = traced_->PodOf(pid);
  if (pod && pod->pod) res = WithPod(res, *info, *pod);
  if (cache_.size() > 16384) cache_.clear();
  cache_[pid] = res;
  return res;
}

void Resources::Prime(uint32_t pid, std::string_view comm) {
  if (comms_.size() > 16384) comms_.clear();
  comms_[pid] = std::string(comm);
  cache_.erase(pid);
  Get(pid);
}

void Resources::Forget(uint32_t pid) {
  cache_.erase(pid);
  comms_.erase(pid);
}

}  // namespace sonde
