#include "metrics/metric_data.h"

#include <chrono>

namespace sonde {

// Out of line so the vtable has one home.
MetricProducer::~MetricProducer() = default;

uint64_t UnixNanosNow() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

const std::vector<double>& DurationBucketsSeconds() {
  static const std::vector<double> kBounds = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                              0.5,   0.75, 1,     2.5,  5,     7.5, 10};
  return kBounds;
}

}  // namespace sonde
