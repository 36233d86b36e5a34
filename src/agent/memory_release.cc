#include "agent/memory_release.h"

// Weak: resolved when the binary links tcmalloc, null otherwise (tests link
// the agent library without it).
extern "C" void MallocExtension_ReleaseFreeMemory() __attribute__((weak));

namespace sonde {

void ReleaseFreeMemory() {
  if (MallocExtension_ReleaseFreeMemory) MallocExtension_ReleaseFreeMemory();
}

}  // namespace sonde
