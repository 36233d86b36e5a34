// Which BPF features this kernel offers, and what each means for sonde
// (`sonde doctor`).
#pragma once

#include <string>
#include <vector>

namespace sonde {

struct FeatureReport {
  std::string name;
  bool available = false;
  bool required = false;   // sonde cannot run without it
  std::string detail;      // what was checked / found
  std::string enables;     // the sonde feature it enables or disables
};

std::vector<FeatureReport> ProbeFeatures();

}  // namespace sonde
