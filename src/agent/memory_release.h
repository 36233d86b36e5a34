// Gives the memory the allocator holds free back to the system.
#pragma once

namespace sonde {

// With tcmalloc (the sonde binary links it, src/agent/CMakeLists.txt), freed
// pages stay in its page heap and count in RSS until released: the BTF and
// object files parsed while loading the BPF programs alone are ~10 MiB.
// A no-op with the C library's malloc, which returns large blocks itself.
void ReleaseFreeMemory();

}  // namespace sonde
