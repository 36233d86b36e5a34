#include "exporter/otlp_config.h"

#include <cctype>

namespace sonde {
namespace {

constexpr std::string_view kDefaultGrpcPort = "4317";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

std::optional<OtlpGrpcTarget> ParseOtlpGrpcEndpoint(std::string_view endpoint,
                                                    bool insecure_without_scheme) {
  std::string_view rest = Trim(endpoint);
  OtlpGrpcTarget out;
  if (StartsWithNoCase(rest, "http://")) {
    rest.remove_prefix(7);
    out.use_tls = false;
  } else if (StartsWithNoCase(rest, "https://")) {
    rest.remove_prefix(8);
    out.use_tls = true;
  } else if (rest.find("://") != std::string_view::npos) {
    return std::nullopt;  // some other scheme (unix://, grpc://...): refuse, don't guess
  } else {
    out.use_tls = !insecure_without_scheme;
  }
  // Drop path, query and fragment.
  size_t end = rest.find_first_of("/?#");
  if (end != std::string_view::npos) rest = rest.substr(0, end);
  // Drop userinfo; credentials belong in headers.
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (rest.empty()) return std::nullopt;

  std::string_view host = rest;
  std::string_view port;
  if (rest.front() == '[') {  // IPv6 literal: [::1]:4317
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
  }
  if (host.empty()) return std::nullopt;
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  if (port.empty()) port = kDefaultGrpcPort;
  out.target = std::string(host) + ":" + std::string(port);
  return out;
}

std::optional<OtlpHttpUrl> ParseOtlpHttpEndpoint(std::string_view endpoint) {
  std::string_view rest = Trim(endpoint);
  OtlpHttpUrl out;
  std::string scheme;
  if (StartsWithNoCase(rest, "http://")) {
    rest.remove_prefix(7);
    scheme = "http://";
  } else if (StartsWithNoCase(rest, "https://")) {
    rest.remove_prefix(8);
    scheme = "https://";
    out.use_tls = true;
  } else {
    return std::nullopt;
  }
  size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  size_t hash = path.find('#');
  if (hash != std::string_view::npos) path = path.substr(0, hash);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (host.empty()) return std::nullopt;
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c))) return std::nullopt;
  if (port.empty()) {
    out.port = out.use_tls ? 443 : 80;
  } else {
    if (port.size() > 5) return std::nullopt;
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    out.port = std::stoi(std::string(port));
    if (out.port == 0 || out.port > 65535) return std::nullopt;
  }
  out.host = std::string(host);
  out.path = path.empty() ? std::string("/") : std::string(path);
  if (out.path.front() == '?') out.path.insert(0, "/");
  out.url = scheme + out.host + ":" + std::to_string(out.port) + out.path;
  return out;
}

std::string AppendSignalPath(std::string_view base, std::string_view signal_path) {
  std::string out(Trim(base));
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!signal_path.empty() && signal_path.front() == '/') signal_path.remove_prefix(1);
  out += '/';
  out += signal_path;
  return out;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

OtlpHeaders ParseOtlpHeaders(std::string_view text, std::vector<std::string>* errors) {
  OtlpHeaders out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (Trim(item).empty()) continue;
    size_t eq = item.find('=');
    std::string key = eq == std::string_view::npos ? std::string() : PercentDecode(Trim(item.substr(0, eq)));
    if (key.empty()) {
      if (errors) errors->emplace_back(item);
      continue;
    }
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace_back(std::move(key), PercentDecode(Trim(item.substr(eq + 1))));
  }
  return out;
}

}  // namespace sonde
