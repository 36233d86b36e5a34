#include "exporter/console_exporter.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "exporter/text_escape.h"

namespace sonde {
namespace {

// Attributes worth a glance, in display order. Those already shown on the
// first line (status code) are left out. When a span has none of these, its
// first attributes are shown instead so nothing is silently hidden.
constexpr const char* kKeyAttributes[] = {
    "http.route",      "url.full",        "url.path",         "url.query",
    "server.address",  "server.port",     "client.address",   "network.peer.address",
    "network.peer.port", "rpc.system",    "rpc.service",      "rpc.method",
    "db.system",       "db.namespace",    "db.operation.name", "db.query.text",
    "db.statement",    "messaging.system", "messaging.destination.name", "error.type",
};
constexpr size_t kFallbackAttributes = 6;

// ANSI SGR sequences.
constexpr const char* kReset = "\x1b[0m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kBlue = "\x1b[34m";
constexpr const char* kMagenta = "\x1b[35m";
constexpr const char* kCyan = "\x1b[36m";

const char* KindName(SpanKind k) {
  switch (k) {
    case SpanKind::kServer: return "SERVER";
    case SpanKind::kClient: return "CLIENT";
    case SpanKind::kProducer: return "PRODUCER";
    case SpanKind::kConsumer: return "CONSUMER";
    case SpanKind::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

const char* KindColor(SpanKind k) {
  switch (k) {
    case SpanKind::kServer: return kGreen;
    case SpanKind::kClient: return kCyan;
    case SpanKind::kProducer:
    case SpanKind::kConsumer: return kMagenta;
    case SpanKind::kInternal: return kBlue;
  }
  return "";
}

std::string Duration(uint64_t start, uint64_t end) {
  if (end < start) return "?";
  double ns = static_cast<double>(end - start);
  if (ns < 1e6) return fmt::format("{:.0f}us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.1f}ms", ns / 1e6);
  return fmt::format("{:.2f}s", ns / 1e9);
}

void AppendValue(std::string& out, const AttrValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    // Quote when a reader could not tell where the value ends.
    bool quote = s->empty() || s->find_first_of(" \"") != std::string::npos;
    if (quote) out += '"';
    AppendPrintable(out, *s);
    if (quote) out += '"';
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    out += fmt::format("{}", *d);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  } else if (const auto* arr = std::get_if<StringArray>(&v)) {
    out += '[';
    for (size_t i = 0; i < arr->size(); ++i) {
      if (i) out += ", ";
      AppendValue(out, AttrValue((*arr)[i]));
    }
    out += ']';
  }
}

std::string ResourceString(const Resource* r, const char* key) {
  if (!r) return {};
  const AttrValue* v = FindAttr(r->attributes, key);
  if (!v) return {};
  std::string out;
  AppendValue(out, *v);
  return out;
}

class Printer {
 public:
  Printer(bool color, std::string& out) : color_(color), out_(out) {}

  void Trace(const std::vector<const Span*>& spans) {
    Paint(kBold);
    out_ += fmt::format("trace {}", ToHex(spans.front()->trace_id));
    Paint(kReset);
    out_ += fmt::format("  {} span{}\n", spans.size(), spans.size() == 1 ? "" : "s");

    std::unordered_map<std::string, std::vector<const Span*>> children;  // by parent id hex
    std::unordered_set<std::string> present;
    for (const Span* s : spans) present.insert(ToHex(s->span_id));
    std::vector<const Span*> roots;
    for (const Span* s : spans) {
      // A span whose parent is elsewhere (another batch, another host) is shown
      // as a root of its own, with the parent id so it can still be found.
      if (IsZero(s->parent_span_id) || !present.count(ToHex(s->parent_span_id))) {
        roots.push_back(s);
      } else {
        children[ToHex(s->parent_span_id)].push_back(s);
      }
    }
    for (auto& [_, v] : children) SortByStart(v);
    SortByStart(roots);
    std::unordered_set<const Span*> printed;
    for (const Span* r : roots) Tree(r, 1, children, printed);
    // Spans in a parent cycle (malformed ids) are not reachable from a root;
    // print them flat rather than drop them.
    for (const Span* s : spans)
      if (!printed.count(s)) Tree(s, 1, children, printed);
  }

 private:
  static void SortByStart(std::vector<const Span*>& v) {
    std::stable_sort(v.begin(), v.end(),
                     [](const Span* a, const Span* b) { return a->start_unix_ns < b->start_unix_ns; });
  }

  void Tree(const Span* s, int depth, const std::unordered_map<std::string, std::vector<const Span*>>& children,
            std::unordered_set<const Span*>& printed) {
    if (!printed.insert(s).second) return;
    Line(*s, depth);
    auto it = children.find(ToHex(s->span_id));
    if (it == children.end()) return;
    for (const Span* c : it->second) Tree(c, depth + 1, children, printed);
  }

  void Line(const Span& s, int depth) {
    std::string indent(static_cast<size_t>(depth) * 2, ' ');
    out_ += indent;
    Paint(KindColor(s.kind));
    out_ += KindName(s.kind);
    Paint(kReset);
    out_ += ' ';
    AppendPrintable(out_, s.name.empty() ? "(unnamed)" : s.name);
    out_ += "  ";
    Status(s);
    out_ += "  ";
    out_ += Duration(s.start_unix_ns, s.end_unix_ns);
    const Resource* r = s.resource.get();
    std::string service = ResourceString(r, "service.name");
    std::string pid = ResourceString(r, "process.pid");
    if (!service.empty() || !pid.empty()) {
      Paint(kDim);
      if (!service.empty()) out_ += "  service=" + service;
      if (!pid.empty()) out_ += (service.empty() ? "  pid=" : " pid=") + pid;
      Paint(kReset);
    }
    if (!IsZero(s.parent_span_id) && depth == 1) {
      Paint(kDim);
      out_ += "  parent=" + ToHex(s.parent_span_id);
      Paint(kReset);
    }
    out_ += '\n';
    Details(s, indent + "    ");
  }

  // HTTP or gRPC status code when there is one, else the span status.
  void Status(const Span& s) {
    const bool error = s.status == StatusCode::kError;
    std::string text;
    if (const AttrValue* v = FindAttr(s.attributes, "http.response.status_code")) {
      AppendValue(text, *v);
    } else if (const AttrValue* g = FindAttr(s.attributes, "rpc.grpc.status_code")) {
      text = "grpc=";
      AppendValue(text, *g);
    } else {
      text = error ? "ERROR" : s.status == StatusCode::kOk ? "OK" : "-";
    }
    const char* color = error ? kRed : s.status == StatusCode::kOk ? kGreen : nullptr;
    Paint(color);
    out_ += text;
    if (color) Paint(kReset);
  }

  void Details(const Span& s, const std::string& indent) {
    std::vector<const Attribute*> shown;
    for (const char* key : kKeyAttributes)
      for (const Attribute& a : s.attributes)
        if (a.key == key) shown.push_back(&a);
    if (shown.empty()) {
      for (const Attribute& a : s.attributes) {
        if (shown.size() == kFallbackAttributes) break;
        if (a.key != "http.response.status_code" && a.key != "rpc.grpc.status_code") shown.push_back(&a);
      }
    }
    bool message = s.status == StatusCode::kError && !s.status_message.empty();
    if (shown.empty() && !message) return;
    out_ += indent;
    Paint(kDim);
    bool first = true;
    for (const Attribute* a : shown) {
      if (!first) out_ += "  ";
      first = false;
      AppendPrintable(out_, a->key);
      out_ += '=';
      AppendValue(out_, a->value);
    }
    Paint(kReset);
    if (message) {
      if (!first) out_ += "  ";
      Paint(kYellow);
      out_ += "error=";
      AppendValue(out_, AttrValue(s.status_message));
      Paint(kReset);
    }
    out_ += '\n';
  }

  void Paint(const char* code) {
    if (color_ && code && *code) out_ += code;
  }

  bool color_;
  std::string& out_;
};

bool DecideColor(FILE* out, ColorMode mode) {
  if (mode != ColorMode::kAuto) return mode == ColorMode::kAlways;
  // https://no-color.org: any non-empty NO_COLOR disables color.
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return out && isatty(fileno(out));
}

}  // namespace

ConsoleExporter::ConsoleExporter(FILE* out, ColorMode color) : out_(out), color_(DecideColor(out, color)) {}

std::string ConsoleExporter::Format(const std::vector<Span>& batch) const {
  // Group by trace, keeping traces in order of first appearance.
  std::vector<std::vector<const Span*>> traces;
  std::map<TraceId, size_t> index;
  for (const Span& s : batch) {
    auto [it, inserted] = index.try_emplace(s.trace_id, traces.size());
    if (inserted) traces.emplace_back();
    traces[it->second].push_back(&s);
  }
  std::string out;
  Printer printer(color_, out);
  for (const auto& t : traces) printer.Trace(t);
  return out;
}

bool ConsoleExporter::Export(const std::vector<Span>& batch) {
  if (!out_) return false;
  std::string text = Format(batch);
  if (text.empty()) return true;
  bool ok = std::fwrite(text.data(), 1, text.size(), out_) == text.size();
  return std::fflush(out_) == 0 && ok;
}

}  // namespace sonde
