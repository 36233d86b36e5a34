#include "agent/tracing_set.h"

#include <spdlog/spdlog.h>

namespace sonde {

TracingSet::TracingSet(Selectors sel, const K8sSettings& k8s, PodCache* pods, uint32_t self_pid)
    : discovery_(std::make_unique<Discovery>(std::move(sel), self_pid, pods ? k8s.host_proc : "/proc")),
      k8s_(k8s),
      pods_(pods),
      self_(self_pid) {}

bool TracingSet::Admit(uint32_t pid) {
  if (!pods_) return true;
  K8sProcess p = ClassifyPid(k8s_.host_proc, pid, *pods_, k8s_.selection);
  if (p.verdict == K8sVerdict::kPending) pending_.insert(pid);
  bool allow = p.verdict == K8sVerdict::kAllow;
  if (allow) pod_of_[pid] = std::move(p);
  return allow;
}

void TracingSet::Set(uint32_t pid, bool traced) {
  if (traced) {
    if (traced_.insert(pid).second && loader_ && !kernel_traces_all()) loader_->SelectPid(pid);
  } else {
    if (traced_.erase(pid) && loader_ && !kernel_traces_all()) loader_->UnselectPid(pid);
    pod_of_.erase(pid);
  }
}

void TracingSet::Attach(Loader* loader) {
  loader_ = loader;
  if (kernel_traces_all()) return;
  std::vector<uint32_t> candidates =
      discovery_->trace_all() ? ListPids(k8s_.host_proc) : discovery_->InitialScan();
  for (uint32_t pid : candidates)
    if (pid != self_ && Admit(pid)) Set(pid, true);
  seen_generation_ = pods_ ? pods_->generation() : 0;
}

bool TracingSet::IsTraced(uint32_t pid) const {
  if (kernel_traces_all()) return discovery_->IsSelected(pid);
  return traced_.count(pid) != 0;
}

void TracingSet::OnExec(uint32_t pid) {
  bool selected = discovery_->OnExec(pid);
  pending_.erase(pid);
  if (kernel_traces_all()) return;
  Set(pid, selected && Admit(pid));
}

void TracingSet::OnFork(uint32_t parent, uint32_t child) {
  bool selected = discovery_->OnFork(parent, child);
  if (kernel_traces_all()) return;
  // A child shares its parent's pod; the kernel already selected it when the
  // parent was selected.
  if (selected && traced_.count(parent)) {
    traced_.insert(child);
    auto it = pod_of_.find(parent);
    if (it != pod_of_.end()) pod_of_[child] = it->second;
  } else if (selected) {
    Set(child, Admit(child));
  }
}

void TracingSet::OnListen(uint32_t pid, uint16_t port) {
  if (kernel_traces_all()) return;
  if (traced_.count(pid)) return;
  if (discovery_->OnListen(pid, port) && Admit(pid)) Set(pid, true);
}

void TracingSet::OnExit(uint32_t pid) {
  discovery_->OnExit(pid);
  pending_.erase(pid);
  traced_.erase(pid);  // the kernel forgets it on its own
  pod_of_.erase(pid);
}

void TracingSet::Tick() {
  if (!pods_ || pending_.empty()) return;
  uint64_t gen = pods_->generation();
  if (gen == seen_generation_) return;
  seen_generation_ = gen;
  std::vector<uint32_t> retry(pending_.begin(), pending_.end());
  pending_.clear();
  for (uint32_t pid : retry)
    if (discovery_->IsSelected(pid) && Admit(pid)) Set(pid, true);
}

bool TracingSet::Reconfigure(Selectors sel, const K8sSelection& k8s, std::string* why) {
  auto next = std::make_unique<Discovery>(std::move(sel), self_, pods_ ? k8s_.host_proc : "/proc");
  if (!pods_ && next->trace_all() != discovery_->trace_all()) {
    *why = "switching between tracing every process and chosen processes needs a restart";
    return false;
  }
  discovery_ = std::move(next);
  k8s_.selection = k8s;
  if (kernel_traces_all()) return true;
  std::vector<uint32_t> candidates =
      discovery_->trace_all() ? ListPids(k8s_.host_proc) : discovery_->InitialScan();
  std::unordered_set<uint32_t> want;
  pending_.clear();
  for (uint32_t pid : candidates)
    if (pid != self_ && Admit(pid)) want.insert(pid);
  std::vector<uint32_t> drop;
  for (uint32_t pid : traced_)
    if (!want.count(pid)) drop.push_back(pid);
  for (uint32_t pid : drop) Set(pid, false);
  for (uint32_t pid : want) Set(pid, true);
  spdlog::info("selection reloaded: {} process(es) traced", traced_.size());
  return true;
}

const K8sProcess* TracingSet::PodOf(uint32_t pid) const {
  auto it = pod_of_.find(pid);
  return it == pod_of_.end() ? nullptr : &it->second;
}

}  // namespace sonde
