#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "loader/loader.h"

namespace sonde {

bool EnsureTracefs(std::string* error) {
  struct stat st;
  if (stat("/sys/kernel/tracing/events", &st) == 0) return true;
  if (stat("/sys/kernel/debug/tracing/events", &st) == 0) return true;
  mkdir("/sys/kernel/tracing", 0755);
  if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
    *error = std::string("tracefs is not mounted and mounting it at /sys/kernel/tracing failed (") +
             strerror(errno) + "): run `mount -t tracefs tracefs /sys/kernel/tracing`";
    return false;
  }
  return true;
}

}  // namespace sonde
