#include "common/types.h"

namespace sonde {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kClient: return "client";
    case Role::kServer: return "server";
    default: return "unknown";
  }
}

}  // namespace sonde
