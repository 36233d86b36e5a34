// A strict little parser of the Prometheus text format (0.0.4) for tests:
// it rejects what a Prometheus server would reject (bad names, bad escapes,
// a family split in two, samples before their TYPE line).
#pragma once

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace sonde::test {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

struct PromParse {
  std::vector<PromSample> samples;
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> help;
  std::string error;  // empty when valid

  // The value of the one sample with this name and these labels (a subset
  // match), or "" when there is none or several.
  std::string Value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    std::string found;
    int n = 0;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (match) {
        found = s.value;
        ++n;
      }
    }
    return n == 1 ? found : "";
  }
};

inline bool PromNameOk(const std::string& s, bool metric) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          (metric && c == ':')))
      return false;
  return true;
}

// The family a sample belongs to: histogram samples drop their suffix.
inline std::string PromFamily(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

inline PromParse ParsePrometheus(const std::string& text) {
  PromParse out;
  std::istringstream in(text);
  std::string line;
  std::string current;
  std::set<std::string> finished;
  auto fail = [&](const std::string& why) {
    if (out.error.empty()) out.error = why + ": '" + line + "'";
  };
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      std::string name = rest.substr(0, sp);
      std::string value = sp == std::string::npos ? "" : rest.substr(sp + 1);
      if (!PromNameOk(name, true)) fail("bad family name");
      if (name != current) {
        if (finished.count(name)) fail("family split in two");
        if (!current.empty()) finished.insert(current);
        current = name;
      }
      if (line[2] == 'T') {
        if (value != "counter" && value != "gauge" && value != "histogram" && value != "summary" && value != "untyped")
          fail("bad type");
        out.types[name] = value;
      } else {
        out.help[name] = value;
      }
      continue;
    }
    if (line[0] == '#') continue;
    PromSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!PromNameOk(s.name, true)) fail("bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail("label without ="), out;
        std::string key = line.substr(i, eq - i);
        if (!PromNameOk(key, false)) fail("bad label name");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail("unquoted label value"), out;
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            ++j;
            if (j >= line.size()) return fail("dangling escape"), out;
            if (line[j] == 'n')
              value += '\n';
            else if (line[j] == '\\' || line[j] == '"')
              value += line[j];
            else
              fail("bad escape");
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return fail("unterminated label value"), out;
        if (s.labels.count(key)) fail("duplicate label");
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value"), out;
    s.value = line.substr(i + 1);
    std::string family = PromFamily(s.name, out.types);
    if (!out.types.count(family)) fail("sample before its TYPE");
    if (family != current) fail("sample outside its family block");
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace sonde::test
