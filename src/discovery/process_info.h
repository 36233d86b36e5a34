// What sonde knows about one traced process (read from /proc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sonde {

enum class Runtime { kUnknown, kPython, kNode, kCpp, kNative };

struct ProcessInfo {
  uint32_t pid = 0;
  uint64_t start_ns = 0;            // process start, ns since boot (matches the kernel's)
  std::string exe_path;             // readlink /proc/<pid>/exe
  std::string comm;                 // /proc/<pid>/comm
  std::vector<std::string> cmdline; // argv
  std::string otel_service_name;    // OTEL_SERVICE_NAME from its environment, if set
  std::string otel_resource_attributes;  // OTEL_RESOURCE_ATTRIBUTES from its environment, if set
  Runtime runtime = Runtime::kUnknown;
};

}  // namespace sonde
