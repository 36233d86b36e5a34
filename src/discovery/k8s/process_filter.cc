#include "discovery/k8s/process_filter.h"

namespace sonde {

K8sProcess ClassifyPid(const std::string& proc_root, uint32_t pid, const PodCache& pods, const K8sSelection& sel) {
  K8sProcess out;
  out.container = ContainerForPid(proc_root, pid);
  if (!out.container) {
    out.verdict = sel.host_processes ? K8sVerdict::kAllow : K8sVerdict::kDeny;
    return out;
  }
  out.pod = pods.ForContainer(out.container->id);
  if (!out.pod) {
    // A container of a plain `docker run` on the node is never in the API;
    // the caller decides how long "pending" lasts (until the next generation).
    out.verdict = K8sVerdict::kPending;
    return out;
  }
  out.verdict = Selected(out.pod->pod, out.pod->container_name, sel) ? K8sVerdict::kAllow : K8sVerdict::kDeny;
  return out;
}

}  // namespace sonde
