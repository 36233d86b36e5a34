#include "spans/resource.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace sonde {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// readlink(/proc/<pid>/exe) appends " (deleted)" once the binary was
// replaced on disk (a redeploy); the process still runs the old one.
std::string_view CleanExePath(std::string_view p) {
  if (p.size() > kDeletedSuffix.size() &&
      p.substr(p.size() - kDeletedSuffix.size()) == kDeletedSuffix)
    p.remove_suffix(kDeletedSuffix.size());
  return p;
}

std::string_view Basename(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

std::string_view Dirname(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : p.substr(0, slash);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsPythonExe(std::string_view base) { return StartsWith(base, "python"); }
bool IsNodeExe(std::string_view base) { return base == "node" || base == "nodejs"; }

// The executable's name: from exe_path, else comm, else argv[0].
std::string_view ExeBase(const ProcessInfo& p) {
  std::string_view exe = CleanExePath(p.exe_path);
  if (!exe.empty()) return Basename(exe);
  if (!p.comm.empty()) return p.comm;
  if (!p.cmdline.empty()) return Basename(p.cmdline[0]);
  return {};
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexVal(in[i + 1]), lo = HexVal(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

// "script.py" -> "script"; only script extensions are removed, so a name
// like "my.service" keeps its dot.
std::string_view ScriptStem(std::string_view base) {
  static constexpr std::array<std::string_view, 10> kExts = {
      ".py", ".pyc", ".pyw", ".pyz", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"};
  for (std::string_view ext : kExts) {
    if (base.size() > ext.size() && base.substr(base.size() - ext.size()) == ext)
      return base.substr(0, base.size() - ext.size());
  }
  return base;
}

// File names that say nothing about the service: the folder does.
bool IsUninformativeStem(std::string_view s) {
  return s == "index" || s == "main" || s == "__main__" || s == "__init__";
}

// Folders that hold a project's code without naming it.
bool IsGenericDir(std::string_view d) {
  return d.empty() || d == "." || d == ".." || d == "src" || d == "dist" || d == "lib" ||
         d == "build" || d == "bin" || d == "out";
}

std::string NameFromScript(std::string_view script) {
  while (script.size() > 1 && script.back() == '/') script.remove_suffix(1);
  std::string_view stem = ScriptStem(Basename(script));
  if (!IsUninformativeStem(stem)) return std::string(stem);
  for (std::string_view dir = Dirname(script); !dir.empty(); dir = Dirname(dir)) {
    std::string_view name = Basename(dir);
    if (!IsGenericDir(name) && name != "/") return std::string(name);
  }
  return std::string(stem);
}

struct InterpreterTarget {
  std::string module;  // python -m
  std::string script;
};

// CPython's command line: options before the script; -c/-m end option
// parsing; -W and -X take a value (attached or next); flags may be grouped.
InterpreterTarget ParsePythonArgs(const std::vector<std::string>& argv) {
  InterpreterTarget t;
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    if (a == "-") return t;  // program from stdin
    if (a == "--") {
      if (i + 1 < argv.size()) t.script = argv[i + 1];
      return t;
    }
    if (StartsWith(a, "--")) {
      if (a == "--check-hash-based-pycs") ++i;
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      for (size_t j = 1; j < a.size(); ++j) {
        char c = a[j];
        if (c != 'c' && c != 'm' && c != 'W' && c != 'X') continue;
        std::string value;
        if (j + 1 < a.size()) {
          value = std::string(a.substr(j + 1));
        } else if (i + 1 < argv.size()) {
          value = argv[++i];
        }
        if (c == 'c') return t;  // inline code: no script
        if (c == 'm') {
          t.module = value;
          return t;
        }
        break;  // -W / -X value consumed
      }
      continue;
    }
    t.script = std::string(a);
    return t;
  }
  return t;
}

// Node's command line: options before the script; -e/-p mean inline code;
// a few options take their value as the next argument.
InterpreterTarget ParseNodeArgs(const std::vector<std::string>& argv) {
  static constexpr std::array<std::string_view, 14> kWithValue = {
      "-r",          "--require",   "--import",        "--loader", "--experimental-loader",
      "--env-file",  "--title",     "-C",              "--conditions", "--input-type",
      "--inspect-port", "--icu-data-dir", "--redirect-warnings", "--watch-path"};
  InterpreterTarget t;
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    if (a == "-" || a == "-e" || a == "--eval" || a == "-p" || a == "--print") return t;
    if (a == "--") {
      if (i + 1 < argv.size()) t.script = argv[i + 1];
      return t;
    }
    if (a.size() > 1 && a[0] == '-') {
      if (std::find(kWithValue.begin(), kWithValue.end(), a) != kWithValue.end()) ++i;
      continue;
    }
    t.script = std::string(a);
    return t;
  }
  return t;
}

const char* RuntimeLanguage(Runtime r) {
  switch (r) {
    case Runtime::kPython: return "python";
    case Runtime::kNode: return "nodejs";
    case Runtime::kCpp: return "cpp";
    default: return nullptr;
  }
}

void AddStr(Attributes* a, std::string key, std::string value) {
  a->push_back({std::move(key), AttrValue(std::move(value))});
}

}  // namespace

Attributes ParseOtelResourceAttributes(std::string_view value) {
  Attributes out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view member = Trim(value.substr(start, comma - start));
    start = comma + 1;
    if (member.empty()) continue;
    size_t eq = member.find('=');
    if (eq == std::string_view::npos) return {};
    std::string key(Trim(member.substr(0, eq)));
    std::string decoded;
    if (key.empty() || !PercentDecode(Trim(member.substr(eq + 1)), &decoded)) return {};
    auto it = std::find_if(out.begin(), out.end(), [&](const Attribute& a) { return a.key == key; });
    if (it != out.end()) {
      it->value = std::move(decoded);
    } else {
      AddStr(&out, std::move(key), std::move(decoded));
    }
  }
  return out;
}

std::string DeriveServiceName(const ProcessInfo& proc) {
  std::string_view exe = ExeBase(proc);
  bool python = IsPythonExe(exe);
  if (python || IsNodeExe(exe)) {
    InterpreterTarget t = python ? ParsePythonArgs(proc.cmdline) : ParseNodeArgs(proc.cmdline);
    if (!t.module.empty()) {
      std::string_view m = t.module;
      if (m.size() > 9 && m.substr(m.size() - 9) == ".__main__") m.remove_suffix(9);
      return std::string(m);
    }
    if (!t.script.empty()) return NameFromScript(t.script);
    // No script: the process may have renamed itself (setproctitle rewrites
    // argv into one string such as "gunicorn: worker [app]").
    if (!proc.cmdline.empty()) {
      std::string_view first = proc.cmdline[0];
      first = Basename(first.substr(0, first.find(' ')));
      while (!first.empty() && first.back() == ':') first.remove_suffix(1);
      if (!first.empty() && !IsPythonExe(first) && !IsNodeExe(first) && first != exe)
        return std::string(first);
    }
    return "unknown_service:" + std::string(exe);
  }
  if (!exe.empty()) return std::string(exe);
  return "unknown_service";
}

std::shared_ptr<const Resource> BuildProcessResource(const ProcessInfo& proc,
                                                     const std::string& host_name) {
  Attributes env = ParseOtelResourceAttributes(proc.otel_resource_attributes);
  auto res = std::make_shared<Resource>();
  Attributes& a = res->attributes;

  std::string service(Trim(proc.otel_service_name));
  if (service.empty()) {
    if (const AttrValue* v = FindAttr(env, "service.name")) service = std::get<std::string>(*v);
  }
  if (service.empty()) service = DeriveServiceName(proc);
  AddStr(&a, "service.name", std::move(service));

  bool env_host = false;
  for (Attribute& attr : env) {
    if (attr.key == "service.name" || StartsWith(attr.key, "process.") ||
        StartsWith(attr.key, "telemetry.sdk."))
      continue;
    if (attr.key == "host.name") env_host = true;
    a.push_back(std::move(attr));
  }

  a.push_back({"process.pid", AttrValue(static_cast<int64_t>(proc.pid))});
  std::string_view exe_base = ExeBase(proc);
  if (!exe_base.empty()) AddStr(&a, "process.executable.name", std::string(exe_base));
  std::string_view exe_path = CleanExePath(proc.exe_path);
  if (!exe_path.empty()) AddStr(&a, "process.executable.path", std::string(exe_path));
  if (proc.runtime == Runtime::kPython) AddStr(&a, "process.runtime.name", "python");
  if (proc.runtime == Runtime::kNode) AddStr(&a, "process.runtime.name", "nodejs");
  if (!env_host && !host_name.empty()) AddStr(&a, "host.name", host_name);

  AddStr(&a, "telemetry.sdk.name", std::string(kTelemetrySdkName));
  AddStr(&a, "telemetry.sdk.version", std::string(kTelemetrySdkVersion));
  if (const char* lang = RuntimeLanguage(proc.runtime)) AddStr(&a, "telemetry.sdk.language", lang);
  return res;
}

}  // namespace sonde
