#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

#include "agent/agent.h"
#include "agent/config.h"
#include "spans/resource.h"

int main(int argc, char** argv) {
  // Logs go to stderr; stdout carries console spans.
  spdlog::set_default_logger(spdlog::stderr_color_mt("sonde"));
  spdlog::set_pattern("%^sonde %l%$: %v");

  sonde::ParseResult r = sonde::ParseCommandLine(argc, argv, sonde::CurrentEnvironment());
  if (!r.error.empty()) {
    fprintf(stderr, "sonde: %s\nRun 'sonde --help' for usage.\n", r.error.c_str());
    return 2;
  }
  switch (r.command) {
    case sonde::Command::kHelp:
      fputs(sonde::UsageText(), stdout);
      return 0;
    case sonde::Command::kVersion:
      printf("sonde %s\n", std::string(sonde::kTelemetrySdkVersion).c_str());
      return 0;
    case sonde::Command::kDoctor:
      return sonde::RunDoctor();
    case sonde::Command::kRun:
      break;
  }
  spdlog::set_level(spdlog::level::from_str(r.config.log_level));
  return sonde::RunAgent(r.config);
}
