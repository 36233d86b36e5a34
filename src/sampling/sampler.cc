#include "sampling/sampler.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "spans/trace_context.h"

namespace sonde {
namespace {

constexpr uint64_t kTwoPow56 = uint64_t{1} << 56;

struct NamedKind {
  const char* name;
  SamplerKind kind;
};

constexpr NamedKind kKinds[] = {
    {"always_on", SamplerKind::kAlwaysOn},
    {"always_off", SamplerKind::kAlwaysOff},
    {"traceidratio", SamplerKind::kTraceIdRatio},
    {"parentbased_always_on", SamplerKind::kParentBasedAlwaysOn},
    {"parentbased_always_off", SamplerKind::kParentBasedAlwaysOff},
    {"parentbased_traceidratio", SamplerKind::kParentBasedTraceIdRatio},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string AcceptedNames() {
  std::string out;
  for (const NamedKind& k : kKinds) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

bool IsParentBased(SamplerKind k) {
  return k == SamplerKind::kParentBasedAlwaysOn || k == SamplerKind::kParentBasedAlwaysOff ||
         k == SamplerKind::kParentBasedTraceIdRatio;
}

std::string RatioText(double r) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6f", r);
  return buf;
}

}  // namespace

const char* SamplerName(SamplerKind kind) {
  for (const NamedKind& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

bool TakesRatio(SamplerKind kind) {
  return kind == SamplerKind::kTraceIdRatio || kind == SamplerKind::kParentBasedTraceIdRatio;
}

std::string DescribeSampler(const SamplerSpec& spec) {
  std::string root;
  switch (spec.kind) {
    case SamplerKind::kAlwaysOn:
    case SamplerKind::kParentBasedAlwaysOn:
      root = "AlwaysOnSampler";
      break;
    case SamplerKind::kAlwaysOff:
    case SamplerKind::kParentBasedAlwaysOff:
      root = "AlwaysOffSampler";
      break;
    case SamplerKind::kTraceIdRatio:
    case SamplerKind::kParentBasedTraceIdRatio:
      root = "TraceIdRatioBased{" + RatioText(spec.ratio) + "}";
      break;
  }
  return IsParentBased(spec.kind) ? "ParentBased{root=" + root + "}" : root;
}

std::string ParseSamplerName(std::string_view name, SamplerKind* out) {
  std::string n = Lower(Trim(name));
  for (const NamedKind& k : kKinds) {
    if (n == k.name) {
      *out = k.kind;
      return {};
    }
  }
  if (n == "jaeger_remote" || n == "parentbased_jaeger_remote" || n == "xray")
    return "'" + std::string(name) + "' is not supported by sonde (" + AcceptedNames() + ")";
  return "'" + std::string(name) + "' is not a sampler (" + AcceptedNames() + ")";
}

std::string ParseSamplerRatio(std::string_view arg, double* out) {
  std::string_view a = Trim(arg);
  double v = 0;
  auto [end, ec] = std::from_chars(a.data(), a.data() + a.size(), v);
  if (a.empty() || ec != std::errc() || end != a.data() + a.size() || !std::isfinite(v))
    return "'" + std::string(arg) + "' is not a number (a ratio from 0 to 1, e.g. 0.25)";
  if (v < 0 || v > 1) return "'" + std::string(arg) + "' is not a ratio from 0 to 1";
  *out = v;
  return {};
}

std::string ApplySamplerEnvironment(const std::map<std::string, std::string>& env, SamplerSpec* spec) {
  auto get = [&env](const char* key) -> std::string {
    auto it = env.find(key);
    return it == env.end() ? std::string() : std::string(Trim(it->second));
  };
  std::string name = get("OTEL_TRACES_SAMPLER");
  std::string arg = get("OTEL_TRACES_SAMPLER_ARG");
  SamplerSpec next = *spec;
  if (!name.empty()) {
    std::string err = ParseSamplerName(name, &next.kind);
    if (!err.empty()) return "OTEL_TRACES_SAMPLER: " + err;
    next.ratio = 1.0;  // the file's ratio belonged to the file's sampler
  }
  if (!arg.empty() && TakesRatio(next.kind)) {
    std::string err = ParseSamplerRatio(arg, &next.ratio);
    if (!err.empty()) return "OTEL_TRACES_SAMPLER_ARG: " + err;
  }
  *spec = next;
  return {};
}

uint64_t RatioThreshold(double ratio) {
  if (!(ratio > 0)) return kTwoPow56;
  if (ratio >= 1) return 0;
  // (1 - ratio) * 2^56 is exact up to the double's 53-bit mantissa; rounding
  // keeps the threshold monotonic in the ratio.
  double t = std::round((1.0 - ratio) * static_cast<double>(kTwoPow56));
  if (t >= static_cast<double>(kTwoPow56)) return kTwoPow56;
  return static_cast<uint64_t>(t);
}

uint64_t TraceRandomness(const TraceId& id) {
  uint64_t r = 0;
  for (size_t i = 9; i < 16; ++i) r = (r << 8) | id[i];
  return r;
}

SamplingParent ParentOf(const Span& span, const Message& m) {
  SamplingParent p;
  if (IsZero(span.parent_span_id)) return p;
  p.kind = SamplingParent::Kind::kLocal;
  const auto* http = std::get_if<HttpExchange>(&m.payload);
  if (!http || m.conn.role != Role::kServer) return p;
  std::optional<TraceContext> ctx = ExtractTraceContext(http->request.headers);
  if (ctx && ctx->trace_id == span.trace_id && ctx->parent_id == span.parent_span_id) {
    p.kind = SamplingParent::Kind::kRemote;
    p.sampled = ctx->sampled();
  }
  return p;
}

HeadSampler::HeadSampler(SamplerSpec spec) : spec_(spec), threshold_(RatioThreshold(spec.ratio)) {}

bool HeadSampler::Root(const TraceId& trace_id) const {
  switch (spec_.kind) {
    case SamplerKind::kAlwaysOn:
    case SamplerKind::kParentBasedAlwaysOn:
      return true;
    case SamplerKind::kAlwaysOff:
    case SamplerKind::kParentBasedAlwaysOff:
      return false;
    case SamplerKind::kTraceIdRatio:
    case SamplerKind::kParentBasedTraceIdRatio:
      return TraceRandomness(trace_id) >= threshold_;
  }
  return true;
}

bool HeadSampler::ShouldSample(const TraceId& trace_id, const SamplingParent& parent) const {
  // Non-parent-based samplers ignore the parent, as the spec requires.
  if (!IsParentBased(spec_.kind) || parent.kind == SamplingParent::Kind::kNone || !parent.sampled)
    return Root(trace_id);
  // The spec's defaults for remote and local parents alike: follow the flag.
  return *parent.sampled;
}

}  // namespace sonde
