// Parsing of the standard OTLP exporter settings (endpoint, headers) as they
// appear in the OTEL_EXPORTER_OTLP_* environment variables. Pure functions:
// the agent reads the environment, these only interpret the strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sonde {

struct OtlpGrpcTarget {
  std::string target;  // what grpc::CreateChannel takes: "host:port", "[::1]:port"
  bool use_tls = false;
};

// Accepts "http://host:port" (plaintext), "https://host:port" (TLS) and
// "host:port" (plaintext unless insecure_without_scheme is false, which is how
// OTEL_EXPORTER_OTLP_INSECURE applies). A missing port means 4317. A path
// ("/v1/traces") is ignored: it only has meaning for OTLP/HTTP.
// Returns nullopt for an empty host or an unknown scheme.
std::optional<OtlpGrpcTarget> ParseOtlpGrpcEndpoint(std::string_view endpoint,
                                                    bool insecure_without_scheme = true);

// An OTLP/HTTP endpoint: an http:// or https:// URL. The port defaults to
// the scheme's (80, 443); the path is kept as given ("/" when empty).
struct OtlpHttpUrl {
  bool use_tls = false;
  std::string host;  // as written; IPv6 literals keep their brackets
  int port = 0;
  std::string path;  // with query, if any
  std::string url;   // the whole URL, as libcurl takes it
};

// Returns nullopt without an http/https scheme, with an empty host or a bad port.
std::optional<OtlpHttpUrl> ParseOtlpHttpEndpoint(std::string_view endpoint);

// The URL of one signal from the generic OTEL_EXPORTER_OTLP_ENDPOINT, per the
// spec: the signal's path ("v1/traces") is appended to the base URL's path,
// with exactly one '/' between ("http://c:4318" and "http://c:4318/" both
// give "http://c:4318/v1/traces"; "http://c:4318/otlp" gives
// "http://c:4318/otlp/v1/traces").
std::string AppendSignalPath(std::string_view base, std::string_view signal_path);

using OtlpHeaders = std::vector<std::pair<std::string, std::string>>;

// Parses OTEL_EXPORTER_OTLP_HEADERS: "k1=v1,k2=v2", each key and value
// percent-decoded and trimmed of spaces. Keys are lowercased because gRPC
// rejects a call whose metadata has an upper-case key. Entries without '=' or
// with an empty key are skipped; their text is appended to *errors if given.
OtlpHeaders ParseOtlpHeaders(std::string_view text, std::vector<std::string>* errors = nullptr);

// Decodes %XX escapes; a malformed escape is kept literally.
std::string PercentDecode(std::string_view s);

}  // namespace sonde
