#include "exporter/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <map>

#include "exporter/text_escape.h"

namespace sonde {
namespace {

bool IsNameChar(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (allow_colon && c == ':');
}

std::string Sanitize(std::string_view s, bool allow_colon) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    char d = IsNameChar(c, allow_colon) ? c : '_';
    if (d == '_' && !out.empty() && out.back() == '_') continue;
    out += d;
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(0, "_");
  return out;
}

std::string UnitWord(std::string_view unit) {
  static const std::map<std::string_view, std::string_view> kUnits = {
      {"d", "days"},   {"h", "hours"},          {"min", "minutes"},     {"s", "seconds"},
      {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
      {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"KBy", "kilobytes"},
      {"MBy", "megabytes"},   {"GBy", "gigabytes"},   {"bit", "bits"},       {"m", "meters"},
      {"V", "volts"},         {"A", "amperes"},       {"J", "joules"},       {"W", "watts"},
      {"g", "grams"},         {"Cel", "celsius"},     {"Hz", "hertz"},       {"%", "percent"},
  };
  auto it = kUnits.find(unit);
  return it != kUnits.end() ? std::string(it->second) : std::string(unit);
}

// Drops {annotations}; "" when nothing is left.
std::string StripAnnotations(std::string_view unit) {
  std::string out;
  int depth = 0;
  for (char c : unit) {
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (depth > 0) --depth;
    } else if (depth == 0) {
      out += c;
    }
  }
  return out;
}

std::string UnitSuffix(std::string_view unit, MetricKind kind) {
  std::string u = StripAnnotations(unit);
  if (u.empty()) return {};
  if (u == "1") return kind == MetricKind::kGauge ? "ratio" : "";
  size_t slash = u.find('/');
  if (slash != std::string::npos) {
    std::string per = u.substr(slash + 1);
    static const std::map<std::string_view, std::string_view> kPer = {
        {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"}};
    auto it = kPer.find(per);
    std::string num = UnitWord(u.substr(0, slash));
    return (num.empty() ? "" : num + "_") + "per_" + (it != kPer.end() ? std::string(it->second) : per);
  }
  return UnitWord(u);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void AppendEscaped(std::string* out, std::string_view v, bool quote_too) {
  for (char c : v) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && quote_too) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

std::string ValueText(const AttrValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return PrometheusFloat(*d);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* arr = std::get_if<StringArray>(&v)) {
    // A JSON array, so that items stay apart.
    std::string out = "[";
    for (size_t i = 0; i < arr->size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, (*arr)[i]);
    }
    return out + "]";
  }
  return {};
}

using Labels = std::map<std::string, std::string>;  // sorted: stable output

// Attributes -> labels; keys that collide after sanitizing have their values
// joined with ';' (in key order), as the compatibility spec asks.
void AddLabels(const Attributes& attrs, Labels* out) {
  std::map<std::string, std::map<std::string, std::string>> by_label;
  for (const Attribute& a : attrs) by_label[PrometheusLabelName(a.key)][a.key] = ValueText(a.value);
  for (auto& [label, values] : by_label) {
    std::string joined;
    for (auto& [key, value] : values) joined += (joined.empty() ? "" : ";") + value;
    (*out)[label] = joined;
  }
}

std::string LabelText(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    AppendEscaped(&out, v, true);
    out += '"';
  }
  return out + "}";
}

std::string StrAttr(const Resource* r, const char* key) {
  if (!r) return {};
  const AttrValue* v = FindAttr(r->attributes, key);
  return v ? ValueText(*v) : std::string();
}

// job and instance of a resource.
Labels ResourceLabels(const Resource* r) {
  Labels l;
  std::string service = StrAttr(r, "service.name");
  std::string ns = StrAttr(r, "service.namespace");
  std::string job = ns.empty() ? service : ns + "/" + service;
  std::string instance = StrAttr(r, "service.instance.id");
  if (instance.empty()) {
    std::string host = StrAttr(r, "host.name");
    std::string pid = StrAttr(r, "process.pid");
    instance = host.empty() ? pid : (pid.empty() ? host : host + ":" + pid);
  }
  if (!job.empty()) l["job"] = job;
  if (!instance.empty()) l["instance"] = instance;
  return l;
}

struct Family {
  std::string type;
  std::string help;
  std::string samples;
};

}  // namespace

std::string PrometheusFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string PrometheusLabelName(std::string_view key) { return Sanitize(key, false); }

std::string PrometheusMetricName(std::string_view name, std::string_view unit, MetricKind kind) {
  std::string out = Sanitize(name, true);
  std::string suffix = UnitSuffix(unit, kind);
  if (!suffix.empty()) {
    suffix = Sanitize(suffix, false);
    if (!EndsWith(out, "_" + suffix)) out += "_" + suffix;
  }
  if (kind == MetricKind::kCounter && !EndsWith(out, "_total")) out += "_total";
  return out;
}

std::string RenderPrometheus(const std::vector<MetricsSnapshot>& snapshots) {
  std::vector<std::string> order;
  std::map<std::string, Family> families;
  auto family = [&](const std::string& name, const char* type, const std::string& help) -> Family& {
    auto [it, inserted] = families.try_emplace(name);
    if (inserted) {
      order.push_back(name);
      it->second.type = type;
      it->second.help = help;
    }
    return it->second;
  };

  for (const MetricsSnapshot& snap : snapshots) {
    for (const ResourceMetricsData& rd : snap.resources) {
      const Labels base = ResourceLabels(rd.resource.get());
      if (rd.resource) {
        Labels info = base;
        Attributes rest;
        for (const Attribute& a : rd.resource->attributes)
          if (a.key != "service.name" && a.key != "service.namespace" && a.key != "service.instance.id")
            rest.push_back(a);
        AddLabels(rest, &info);
        for (const auto& [k, v] : base) info[k] = v;  // job and instance win over look-alike attributes
        Family& f = family("target_info", "gauge", "Target metadata");
        f.samples += "target_info" + LabelText(info) + " 1\n";
      }
      for (const MetricData& m : rd.metrics) {
        const std::string name = PrometheusMetricName(m.name, m.unit, m.kind);
        const char* type = m.kind == MetricKind::kHistogram ? "histogram"
                           : m.kind == MetricKind::kCounter ? "counter"
                                                            : "gauge";
        Family& f = family(name, type, m.description);
        for (const MetricPoint& p : m.points) {
          Labels labels;
          AddLabels(p.attributes, &labels);
          for (const auto& [k, v] : base) labels[k] = v;
          if (m.kind != MetricKind::kHistogram) {
            f.samples += name + LabelText(labels) + " " +
                         (p.is_double ? PrometheusFloat(p.double_value) : std::to_string(p.int_value)) + "\n";
            continue;
          }
          // Histogram: OTLP bucket counts are per bucket, Prometheus' are cumulative.
          const std::string stem = EndsWith(name, "_total") ? name.substr(0, name.size() - 6) : name;
          uint64_t cumulative = 0;
          for (size_t i = 0; i < p.histogram.bucket_counts.size(); ++i) {
            cumulative += p.histogram.bucket_counts[i];
            Labels with_le = labels;
            with_le["le"] = i < m.bounds.size() ? PrometheusFloat(m.bounds[i]) : "+Inf";
            f.samples += stem + "_bucket" + LabelText(with_le) + " " + std::to_string(cumulative) + "\n";
          }
          if (p.histogram.bucket_counts.empty()) {
            Labels with_le = labels;
            with_le["le"] = "+Inf";
            f.samples += stem + "_bucket" + LabelText(with_le) + " " + std::to_string(p.histogram.count) + "\n";
          }
          f.samples += stem + "_sum" + LabelText(labels) + " " + PrometheusFloat(p.histogram.sum) + "\n";
          f.samples += stem + "_count" + LabelText(labels) + " " + std::to_string(p.histogram.count) + "\n";
        }
      }
    }
  }

  std::string out;
  for (const std::string& name : order) {
    const Family& f = families[name];
    if (!f.help.empty()) {
      out += "# HELP " + name + " ";
      AppendEscaped(&out, f.help, false);
      out += "\n";
    }
    out += "# TYPE " + name + " " + f.type + "\n";
    out += f.samples;
  }
  return out;
}

}  // namespace sonde
