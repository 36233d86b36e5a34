// Per-process OpenTelemetry resources, built once from /proc (and the pod,
// under Kubernetes) and kept until the process execs or exits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/tracing_set.h"
#include "spans/span.h"

namespace sonde {

class Resources {
 public:
  Resources(TracingSet* traced, std::string host) : traced_(traced), host_(std::move(host)) {}
  std::shared_ptr<const Resource> Get(uint32_t pid);
  // Reads the process now, while it surely exists (at exec or fork).
  void Prime(uint32_t pid, std::string_view comm);
  void Forget(uint32_t pid);

 private:
  TracingSet* traced_;
  std::string host_;
  std::unordered_map<uint32_t, std::shared_ptr<const Resource>> cache_;
  std::unordered_map<uint32_t, std::string> comms_;
};

}  // namespace sonde
