// The OTel resource of a traced process: who emitted its spans.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "discovery/process_info.h"
#include "spans/span.h"

namespace sonde {

// `telemetry.sdk.version`: the version of sonde that produced the telemetry.
inline constexpr std::string_view kTelemetrySdkVersion = "0.1.0";
// `telemetry.sdk.name`.
inline constexpr std::string_view kTelemetrySdkName = "sonde";


// Parses an OTEL_RESOURCE_ATTRIBUTES value, "k1=v1,k2=v2": spaces around
// keys and values are trimmed, values are percent-decoded, empty members are
// skipped, a repeated key keeps its last value. As the OTel resource SDK
// spec asks, any error (a member without '=', an empty key, a bad
// percent-escape) discards the whole value: the result is empty.
Attributes ParseOtelResourceAttributes(std::string_view value);

// service.name for a process with no OTEL_SERVICE_NAME and no service.name
// in OTEL_RESOURCE_ATTRIBUTES, derived from its command line:
//  - python: `-m pkg.mod` -> "pkg.mod" (a trailing ".__main__" dropped);
//    a script -> see below; `python3 /venv/bin/flask run` -> "flask";
//  - node: the script -> see below (`-r`/`--require`/`--import`/`--loader`
//    values skipped);
//  - a script `/srv/app.py` -> "app", `server.js` -> "server"; an
//    uninformative file name (index, main, __main__, __init__) is replaced
//    by the nearest informative parent folder: `/x/api/src/index.js` -> "api"
//    (src, dist, lib, build, bin, out are skipped);
//  - an interpreter with no script (`python3 -c ...`, REPL): the program
//    name the process gave itself in argv[0] when it is not the interpreter
//    (setproctitle: "gunicorn: worker [app]" -> "gunicorn"), else
//    "unknown_service:<executable>" as the OTel SDKs do;
//  - a native binary: its executable name (from exe_path, else comm, else
//    argv[0]).
std::string DeriveServiceName(const ProcessInfo& proc);

// The resource shared by every span of one process. Attributes, in order:
//  service.name       OTEL_SERVICE_NAME, else service.name from
//                     OTEL_RESOURCE_ATTRIBUTES, else DeriveServiceName();
//  <OTEL_RESOURCE_ATTRIBUTES>  every other key, except process.* and
//                     telemetry.sdk.*, which sonde observes itself;
//  process.pid (int), process.executable.name, process.executable.path,
//  process.runtime.name ("python" / "nodejs", only when known),
//  host.name (unless given in OTEL_RESOURCE_ATTRIBUTES),
//  telemetry.sdk.name = "sonde", telemetry.sdk.version,
//  telemetry.sdk.language ("python" / "nodejs" / "cpp"; omitted for unknown
//                     and plain native processes).
// process.command_line and process.command_args are never included: argv
// often carries secrets (passwords, tokens in flags).
std::shared_ptr<const Resource> BuildProcessResource(const ProcessInfo& proc,
                                                     const std::string& host_name);

}  // namespace sonde
