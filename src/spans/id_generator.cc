#include "spans/id_generator.h"

#include <cstring>
#include <random>

namespace sonde {
namespace {

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// splitmix64 expands one seed word into well-mixed state words; it is the
// seeding procedure recommended for the xoshiro family (a raw seed could be
// all zero, a state xoshiro never leaves).
uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

IdGenerator::IdGenerator() {
  std::random_device rd;
  uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  Seed(seed);
}

IdGenerator::IdGenerator(uint64_t seed) { Seed(seed); }

void IdGenerator::Seed(uint64_t seed) {
  for (uint64_t& w : s_) w = SplitMix64(&seed);
}

// xoshiro256** 1.0.
uint64_t IdGenerator::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

TraceId IdGenerator::NewTraceId() {
  TraceId id{};
  // An all-zero id is invalid in W3C and OTLP; the odds are 2^-128, but the
  // loop makes the guarantee unconditional.
  do {
    uint64_t hi = Next(), lo = Next();
    std::memcpy(id.data(), &hi, 8);
    std::memcpy(id.data() + 8, &lo, 8);
  } while (IsZero(id));
  return id;
}

SpanId IdGenerator::NewSpanId() {
  SpanId id{};
  do {
    uint64_t r = Next();
    std::memcpy(id.data(), &r, 8);
  } while (IsZero(id));
  return id;
}

}  // namespace sonde
