#include "sampling/excluded_paths.h"

#include <algorithm>

#include "spans/route.h"

namespace sonde {

std::vector<std::string> DefaultExcludedPaths() { return {"/health", "/healthz", "/ready", "/live", "/metrics"}; }

std::string CheckExcludedPath(std::string_view path) {
  if (path.empty() || path.front() != '/') return "'" + std::string(path) + "' must start with '/'";
  if (path.find_first_of("?#") != std::string_view::npos)
    return "'" + std::string(path) + "' must be a path alone (queries are ignored when matching)";
  return {};
}

ExcludedPaths::ExcludedPaths(std::vector<std::string> paths) : paths_(std::move(paths)) {
  std::sort(paths_.begin(), paths_.end());
  paths_.erase(std::unique(paths_.begin(), paths_.end()), paths_.end());
}

bool ExcludedPaths::Matches(std::string_view path) const {
  return std::binary_search(paths_.begin(), paths_.end(), path, std::less<>());
}

bool ExcludedPaths::Excludes(const Message& m) const {
  if (paths_.empty()) return false;
  const auto* http = std::get_if<HttpExchange>(&m.payload);
  if (!http) return false;
  RequestTarget t = SplitRequestTarget(http->request.target);
  return !t.path.empty() && Matches(t.path);
}

}  // namespace sonde
