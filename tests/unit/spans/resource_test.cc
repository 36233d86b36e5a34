#include "spans/resource.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace sonde {
namespace {

ProcessInfo Proc(std::string exe, std::vector<std::string> argv, Runtime rt = Runtime::kUnknown) {
  ProcessInfo p;
  p.pid = 4242;
  p.exe_path = std::move(exe);
  size_t slash = p.exe_path.rfind('/');
  p.comm = p.exe_path.substr(slash == std::string::npos ? 0 : slash + 1);
  p.cmdline = std::move(argv);
  p.runtime = rt;
  return p;
}

// Attributes as a printable map: int 7 -> "i:7", bool -> "b:true", string as is.
std::map<std::string, std::string> AsMap(const Attributes& attrs) {
  std::map<std::string, std::string> out;
  for (const auto& a : attrs) {
    std::string v;
    if (auto* s = std::get_if<std::string>(&a.value)) v = *s;
    if (auto* i = std::get_if<int64_t>(&a.value)) v = "i:" + std::to_string(*i);
    if (auto* b = std::get_if<bool>(&a.value)) v = *b ? "b:true" : "b:false";
    EXPECT_EQ(out.count(a.key), 0u) << "duplicate attribute " << a.key;
    out[a.key] = v;
  }
  return out;
}

struct NameCase {
  const char* name;
  ProcessInfo proc;
  const char* service;
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

class ServiceName : public ::testing::TestWithParam<NameCase> {};

TEST_P(ServiceName, Derived) { EXPECT_EQ(DeriveServiceName(GetParam().proc), GetParam().service); }

INSTANTIATE_TEST_SUITE_P(
    Table, ServiceName,
    ::testing::Values(
        NameCase{"python_script", Proc("/usr/bin/python3.11", {"python3", "/srv/app.py"}), "app"},
        NameCase{"python_flags", Proc("/usr/bin/python3", {"python3", "-u", "-W", "ignore", "-X", "dev", "/srv/worker.py", "--port", "1"}), "worker"},
        NameCase{"python_attached_flag_values", Proc("/usr/bin/python3", {"python3", "-Wignore", "-OO", "jobs.py"}), "jobs"},
        NameCase{"python_module", Proc("/usr/bin/python3", {"python3", "-m", "uvicorn", "main:app"}), "uvicorn"},
        NameCase{"python_module_grouped", Proc("/usr/bin/python3", {"python3", "-um", "http.server", "8000"}), "http.server"},
        NameCase{"python_module_attached", Proc("/usr/bin/python3", {"python3", "-mmyapp.__main__"}), "myapp"},
        NameCase{"python_console_script", Proc("/usr/bin/python3", {"/venv/bin/python3", "/venv/bin/flask", "run"}), "flask"},
        NameCase{"python_main_uses_folder", Proc("/usr/bin/python3", {"python3", "/srv/billing/main.py"}), "billing"},
        NameCase{"python_main_skips_src", Proc("/usr/bin/python3", {"python3", "/srv/billing/src/__main__.py"}), "billing"},
        NameCase{"python_relative_main", Proc("/usr/bin/python3", {"python3", "main.py"}), "main"},
        NameCase{"python_inline_code", Proc("/usr/bin/python3", {"python3", "-c", "print(1)"}), "unknown_service:python3"},
        NameCase{"python_repl", Proc("/usr/bin/python3", {"python3"}), "unknown_service:python3"},
        NameCase{"python_setproctitle", Proc("/usr/bin/python3.12", {"gunicorn: worker [app:app]"}), "gunicorn"},
        NameCase{"node_script", Proc("/usr/bin/node", {"node", "server.js"}), "server"},
        NameCase{"node_index_uses_folder", Proc("/usr/local/bin/node", {"node", "/x/api/index.js"}), "api"},
        NameCase{"node_dist_index", Proc("/usr/local/bin/node", {"node", "/srv/orders/dist/index.mjs"}), "orders"},
        NameCase{"node_require_flag", Proc("/usr/bin/node", {"node", "-r", "dotenv/config", "--max-old-space-size=512", "app.js"}), "app"},
        NameCase{"node_directory", Proc("/usr/bin/node", {"node", "/srv/gateway/"}), "gateway"},
        NameCase{"node_eval", Proc("/usr/bin/node", {"node", "-e", "1"}), "unknown_service:node"},
        NameCase{"nodejs_exe", Proc("/usr/bin/nodejs", {"nodejs", "worker.cjs"}), "worker"},
        NameCase{"native", Proc("/usr/local/bin/envoy", {"envoy", "-c", "/etc/envoy.yaml"}), "envoy"},
        NameCase{"native_deleted", Proc("/opt/svc/bin/orders (deleted)", {"./orders"}), "orders"},
        NameCase{"native_no_exe_uses_comm", [] { ProcessInfo p; p.comm = "redis-server"; return p; }(), "redis-server"},
        NameCase{"nothing_known", ProcessInfo{}, "unknown_service"}),
    [](const ::testing::TestParamInfo<NameCase>& info) { return std::string(info.param.name); });


TEST(OtelResourceAttributes, Parse) {
  auto m = AsMap(ParseOtelResourceAttributes(
      " deployment.environment = prod , service.version=1.2%2C3,team=a%20b%3Dc,,k=v1,k=v2"));
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"deployment.environment", "prod"},
                                                   {"service.version", "1.2,3"},
                                                   {"team", "a b=c"},
                                                   {"k", "v2"}}));
  EXPECT_TRUE(ParseOtelResourceAttributes("").empty());
  EXPECT_EQ(AsMap(ParseOtelResourceAttributes("empty=")), (std::map<std::string, std::string>{{"empty", ""}}));
}

TEST(OtelResourceAttributes, AnyErrorDiscardsAll) {
  EXPECT_TRUE(ParseOtelResourceAttributes("a=1,novalue").empty());
  EXPECT_TRUE(ParseOtelResourceAttributes("a=1,=2").empty());
  EXPECT_TRUE(ParseOtelResourceAttributes("a=%zz").empty());
  EXPECT_TRUE(ParseOtelResourceAttributes("a=%4").empty());
}

TEST(Resource, PythonProcess) {
  ProcessInfo p = Proc("/usr/bin/python3.11", {"python3", "/srv/app.py", "--secret=hunter2"}, Runtime::kPython);
  auto res = BuildProcessResource(p, "node-1");
  EXPECT_EQ(AsMap(res->attributes), (std::map<std::string, std::string>{
                                        {"service.name", "app"},
                                        {"process.pid", "i:4242"},
                                        {"process.executable.name", "python3.11"},
                                        {"process.executable.path", "/usr/bin/python3.11"},
                                        {"process.runtime.name", "python"},
                                        {"host.name", "node-1"},
                                        {"telemetry.sdk.name", "sonde"},
                                        {"telemetry.sdk.version", "0.1.0"},
                                        {"telemetry.sdk.language", "python"},
                                    }));
  EXPECT_EQ(res->attributes.front().key, "service.name");
}

TEST(Resource, NodeProcess) {
  auto m = AsMap(BuildProcessResource(Proc("/usr/bin/node", {"node", "/x/api/index.js"}, Runtime::kNode), "h")
                     ->attributes);
  EXPECT_EQ(m["service.name"], "api");
  EXPECT_EQ(m["process.runtime.name"], "nodejs");
  EXPECT_EQ(m["telemetry.sdk.language"], "nodejs");
}

TEST(Resource, NativeAndCppProcesses) {
  auto native = AsMap(BuildProcessResource(Proc("/usr/local/bin/envoy", {"envoy"}, Runtime::kNative), "h")->attributes);
  EXPECT_EQ(native["service.name"], "envoy");
  EXPECT_EQ(native.count("telemetry.sdk.language"), 0u);
  EXPECT_EQ(native.count("process.runtime.name"), 0u);

  auto cpp = AsMap(BuildProcessResource(Proc("/srv/engine", {"engine"}, Runtime::kCpp), "h")->attributes);
  EXPECT_EQ(cpp["telemetry.sdk.language"], "cpp");
  EXPECT_EQ(cpp.count("process.runtime.name"), 0u);

  auto unknown = AsMap(BuildProcessResource(Proc("/srv/x", {"x"}, Runtime::kUnknown), "h")->attributes);
  EXPECT_EQ(unknown.count("telemetry.sdk.language"), 0u);
}

TEST(Resource, OtelServiceNameWins) {
  ProcessInfo p = Proc("/usr/bin/python3", {"python3", "app.py"}, Runtime::kPython);
  p.otel_service_name = "checkout";
  p.otel_resource_attributes = "service.name=ignored,service.namespace=shop";
  auto m = AsMap(BuildProcessResource(p, "h")->attributes);
  EXPECT_EQ(m["service.name"], "checkout");
  EXPECT_EQ(m["service.namespace"], "shop");
}

TEST(Resource, ServiceNameFromResourceAttributes) {
  ProcessInfo p = Proc("/usr/bin/python3", {"python3", "app.py"}, Runtime::kPython);
  p.otel_resource_attributes = "service.name=pay%20ments,deployment.environment.name=prod";
  auto m = AsMap(BuildProcessResource(p, "h")->attributes);
  EXPECT_EQ(m["service.name"], "pay ments");
  EXPECT_EQ(m["deployment.environment.name"], "prod");
}

TEST(Resource, ObservedAttributesCannotBeOverridden) {
  ProcessInfo p = Proc("/usr/bin/node", {"node", "s.js"}, Runtime::kNode);
  p.otel_resource_attributes =
      "process.pid=1,telemetry.sdk.name=fake,host.name=from-env,process.command_line=x";
  auto m = AsMap(BuildProcessResource(p, "detected-host")->attributes);
  EXPECT_EQ(m["process.pid"], "i:4242");
  EXPECT_EQ(m["telemetry.sdk.name"], "sonde");
  EXPECT_EQ(m["host.name"], "from-env");  // the user's host.name is kept
  EXPECT_EQ(m.count("process.command_line"), 0u);
}

TEST(Resource, NeverIncludesCommandLine) {
  auto m = AsMap(BuildProcessResource(Proc("/bin/app", {"app", "--password=x"}), "h")->attributes);
  EXPECT_EQ(m.count("process.command_line"), 0u);
  EXPECT_EQ(m.count("process.command_args"), 0u);
  for (const auto& [k, v] : m) EXPECT_EQ(v.find("password"), std::string::npos) << k;
}

TEST(Resource, DeletedExecutableAndEmptyHost) {
  auto m = AsMap(BuildProcessResource(Proc("/opt/orders (deleted)", {"orders"}), "")->attributes);
  EXPECT_EQ(m["process.executable.path"], "/opt/orders");
  EXPECT_EQ(m["process.executable.name"], "orders");
  EXPECT_EQ(m.count("host.name"), 0u);
}

}  // namespace
}  // namespace sonde
