#include "exporter/otlp_transport.h"

#include <fstream>
#include <sstream>

#include "exporter/otlp_grpc_transport.h"
#include "exporter/otlp_http_transport.h"

namespace sonde {

// Out of line so the vtable has one home.
OtlpTransport::~OtlpTransport() = default;

bool ReadFileToString(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return false;
  *out = ss.str();
  return true;
}

std::unique_ptr<OtlpTransport> MakeOtlpTransport(const OtlpExporterOptions& options, OtlpSignal signal,
                                                 std::string* error) {
  std::string err;
  std::unique_ptr<OtlpTransport> t;
  if (options.protocol == OtlpProtocol::kGrpc)
    t = OtlpGrpcTransport::Create(options, &err);
  else
    t = OtlpHttpTransport::Create(options, &err);
  if (!t && error) *error = std::string("otlp ") + ToString(signal) + ": " + err;
  return t;
}

}  // namespace sonde
