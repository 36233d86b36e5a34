// Writes spans as JSON lines: one object per span, one span per line, for
// tests, replays and `jq`. A line looks like:
//
//   {"trace_id":"4bf9...","span_id":"00f0...","parent_span_id":"","name":"GET /users/{id}",
//    "kind":"SERVER","start_unix_ns":1700000000000000000,"end_unix_ns":1700000000012300000,
//    "status":{"code":"OK","message":""},"attributes":{"http.response.status_code":200},
//    "resource":{"service.name":"flask-app","process.pid":1234}}
//
// parent_span_id is "" for a root span. Times are JSON integers (exact in
// Python and jq >= 1.7; JavaScript's Number rounds them). Doubles that JSON
// cannot represent (NaN, infinities) are written as the strings "NaN",
// "Infinity", "-Infinity". Strings are escaped as AppendJsonString describes.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "exporter/span_exporter.h"

namespace sonde {

class JsonlExporter : public SpanExporter {
 public:
  // Appends to `path`, creating it if needed. An open failure is logged and
  // makes every Export return false; check ok() to fail fast instead.
  explicit JsonlExporter(const std::string& path);
  ~JsonlExporter() override;

  bool ok() const { return file_ != nullptr; }

  // Writes the batch and flushes it, so a reader sees whole batches.
  bool Export(const std::vector<Span>& batch) override;
  void Shutdown() override;

 private:
  // A process's resource is the same object for all its spans: its JSON is
  // written once, not once per line.
  struct CachedResource {
    std::weak_ptr<const Resource> alive;
    std::string json;
  };
  static constexpr size_t kMaxCachedResources = 4096;
  const std::string& ResourceJson(const std::shared_ptr<const Resource>& resource);

  std::string path_;
  FILE* file_ = nullptr;
  std::unordered_map<const Resource*, CachedResource> resources_;
  std::string text_;  // the batch being written; keeps its capacity
};

// One span as a single-line JSON object (no trailing newline).
std::string SpanToJson(const Span& span);

}  // namespace sonde
