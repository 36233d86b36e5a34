#include "spans/span.h"

namespace sonde {
namespace {
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& a) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(N * 2, '0');
  for (size_t i = 0; i < N; ++i) {
    s[2 * i] = kDigits[a[i] >> 4];
    s[2 * i + 1] = kDigits[a[i] & 0xf];
  }
  return s;
}
template <size_t N>
bool Zero(const std::array<uint8_t, N>& a) {
  for (uint8_t b : a)
    if (b) return false;
  return true;
}
}  // namespace

bool IsZero(const TraceId& id) { return Zero(id); }
bool IsZero(const SpanId& id) { return Zero(id); }
std::string ToHex(const TraceId& id) { return Hex(id); }
std::string ToHex(const SpanId& id) { return Hex(id); }

const AttrValue* FindAttr(const Attributes& attrs, std::string_view key) {
  for (const auto& a : attrs)
    if (a.key == key) return &a.value;
  return nullptr;
}

}  // namespace sonde
