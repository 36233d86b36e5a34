#include <cstdio>

#include "agent/agent.h"
#include "loader/features.h"

namespace sonde {

int RunDoctor() {
  bool ok = true;
  printf("sonde doctor: BPF features of this kernel\n\n");
  for (const FeatureReport& f : ProbeFeatures()) {
    const char* mark = f.available ? "yes" : (f.required ? "MISSING" : "no");
    printf("  %-32s %-8s %s\n", f.name.c_str(), mark, f.detail.c_str());
    printf("  %-32s %-8s -> %s%s\n", "", "", f.available ? "enables: " : "unavailable: ", f.enables.c_str());
    if (f.required && !f.available) ok = false;
  }
  printf("\n%s\n", ok ? "sonde can run here: every required feature is present."
                      : "sonde cannot run here: a required feature is missing (see above).");
  return ok ? 0 : 1;
}

}  // namespace sonde
