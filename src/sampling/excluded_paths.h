// Requests that make no span at all: health checks, readiness probes and
// metric scrapes, recognised by their exact url.path (query ignored).
// Decided from the decoded Message, before a span is built, so they cost no
// span, no RED metric data point and no export.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "decoders/message.h"

namespace sonde {

// /health, /healthz, /ready, /live, /metrics.
std::vector<std::string> DefaultExcludedPaths();

// "" when `path` can be listed, else the reason (it must start with '/').
std::string CheckExcludedPath(std::string_view path);

class ExcludedPaths {
 public:
  explicit ExcludedPaths(std::vector<std::string> paths);

  // Exact match against the path of a request target.
  bool Matches(std::string_view path) const;
  // True for an HTTP exchange (HTTP/1 or HTTP/2, any role) whose request
  // target's path is listed; false for other protocols.
  bool Excludes(const Message& m) const;

  bool empty() const { return paths_.empty(); }

 private:
  std::vector<std::string> paths_;
};

}  // namespace sonde
