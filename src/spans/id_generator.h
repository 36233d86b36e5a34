// Random trace and span ids.
#pragma once

#include <cstdint>

#include "spans/span.h"

namespace sonde {

// Generates W3C-valid ids (never all zero) from xoshiro256**, a small fast
// PRNG. The ids only need to be unique and uniformly spread (samplers hash
// them), not unpredictable, so a CSPRNG would be wasted on the hot path.
//
// NOT thread-safe, by design: spans are built on the one hot thread, which
// owns its generator. Give every other thread its own instance.
class IdGenerator {
 public:
  // Seeded from std::random_device.
  IdGenerator();
  // Deterministic sequence, for tests.
  explicit IdGenerator(uint64_t seed);

  TraceId NewTraceId();
  SpanId NewSpanId();

 private:
  uint64_t Next();
  void Seed(uint64_t seed);

  uint64_t s_[4];
};

}  // namespace sonde
