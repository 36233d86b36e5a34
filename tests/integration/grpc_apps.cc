#include "grpc_apps.h"

#include <set>
#include <sstream>

#include "tests/support/test_certs.h"

namespace sonde::testing {
namespace {

std::string AppDir() { return SourceDir() + "/tests/integration/apps/grpc/"; }

std::vector<std::string> Command(Lang lang, const std::string& role) {
  switch (lang) {
    case Lang::kPython:
      return {Python(), AppDir() + "echo_" + role + ".py"};
    case Lang::kNode:
      return {"node", AppDir() + "echo_" + role + ".js"};
    case Lang::kCpp:
      return {BinaryDir() + "/tests/integration/grpc_echo_" + role};
  }
  return {};
}

// "k=v;k2=v2" of the spec's md=x-... entries: what the server echoes.
std::string ExpectedEcho(const std::string& spec) {
  std::string echo, part;
  std::istringstream in(spec);
  while (std::getline(in, part, ',')) {
    if (part.rfind("md=x-", 0) != 0) continue;
    if (!echo.empty()) echo += ";";
    echo += part.substr(3);
  }
  return echo;
}

}  // namespace

std::unique_ptr<Child> StartEchoServer(Lang lang, uint16_t port, bool tls) {
  std::vector<std::string> argv = Command(lang, "server");
  argv.push_back(std::to_string(port));
  if (tls) argv.insert(argv.end(), {GetTestCertificates().server_cert, GetTestCertificates().server_key});
  auto c = std::make_unique<Child>(argv);
  EXPECT_TRUE(c->WaitForLine("listening", milliseconds(15000))) << argv[0] << " did not start: " << c->seen();
  EXPECT_TRUE(WaitForPort(port, milliseconds(5000)));
  return c;
}

std::unique_ptr<Child> StartEchoClient(Lang lang, uint16_t port, bool tls, const std::vector<std::string>& calls,
                                       bool pipe_stdin) {
  std::vector<std::string> argv = Command(lang, "client");
  argv.push_back(std::to_string(port));
  if (tls) argv.insert(argv.end(), {"--ca", GetTestCertificates().ca_cert});
  argv.insert(argv.end(), calls.begin(), calls.end());
  return std::make_unique<Child>(argv, std::vector<std::string>{}, Child::Capture::kStdout, pipe_stdin);
}

std::string SdkLanguage(Lang lang) {
  switch (lang) {
    case Lang::kPython:
      return "python";
    case Lang::kNode:
      return "nodejs";
    case Lang::kCpp:
      return "cpp";
  }
  return "";
}

std::vector<EchoCall> FullPlan() {
  const std::string tp = std::string("md=traceparent=00-") + kEchoTraceId + "-" + kEchoParentId + "-01";
  return {
      {"unary,msg=first,md=x-tenant=blue," + tp, "Unary", 0, 1, 1, true},
      {"unary,fail=14", "Unary", 14, 1, 0},  // UNAVAILABLE: an error on both sides
      {"unary,fail=5", "Unary", 5, 1, 0},    // NOT_FOUND: an error on the CLIENT side only
      {"server_stream,count=3,md=x-tenant=green", "ServerStream", 0, 1, 3},
      {"server_stream,count=2,fail=13", "ServerStream", 13, 1, 2},  // INTERNAL after two replies
      {"client_stream,count=3", "ClientStream", 0, 3, 1},
      {"client_stream,count=2,fail=3", "ClientStream", 3, 2, 0},  // INVALID_ARGUMENT: CLIENT side only
      {"bidi,count=2,md=x-tenant=red", "Bidi", 0, 2, 2},
      {"bidi,count=3,fail=4", "Bidi", 4, 3, 3},  // DEADLINE_EXCEEDED from the server, after three replies
  };
}

std::vector<std::string> Specs(const std::vector<EchoCall>& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan) out.push_back(c.spec);
  return out;
}

std::vector<ClientResult> EchoResults(Child* client, const std::vector<EchoCall>& plan) {
  EXPECT_EQ(client->Wait(milliseconds(60000)), 0) << "the echo client failed: " << client->seen();
  std::string out = client->ReadAll(milliseconds(2000));
  std::vector<ClientResult> results = ParseResults(out);
  EXPECT_EQ(results.size(), plan.size()) << "the echo client printed:\n" << client->seen();
  std::istringstream lines(out);
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line) && i < plan.size()) {
    if (line.rfind("RESULT ", 0) != 0) continue;
    const EchoCall& c = plan[i];
    EXPECT_EQ(results[i].path, c.spec.substr(0, c.spec.find(','))) << line;
    EXPECT_EQ(results[i].status, c.status) << "the app did not end '" << c.spec << "' as planned: " << line;
    EXPECT_NE(line.find(" echo=" + ExpectedEcho(c.spec) + " "), std::string::npos)
        << "the server did not echo the metadata of '" << c.spec << "': " << line;
    ++i;
  }
  return results;
}

bool IsServerErrorCode(int code) {
  return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

void ExpectEchoSpans(const std::vector<ReceivedSpan>& spans, int kind, const std::vector<EchoCall>& plan,
                     const std::vector<ClientResult>& results, uint16_t port) {
  const bool server = kind == kServer;
  EXPECT_EQ(spans.size(), plan.size()) << "one " << (server ? "SERVER" : "CLIENT") << " span per call; got:\n"
                                       << Describe(spans);
  std::set<int64_t> client_ports;
  for (size_t i = 0; i < plan.size(); ++i) {
    const EchoCall& c = plan[i];
    SCOPED_TRACE((server ? "SERVER span of " : "CLIENT span of ") + c.spec);
    std::vector<const ReceivedSpan*> found;
    for (const auto& s : spans)
      if (s.Attr("rpc.method") == c.method && s.IntAttr("rpc.grpc.status_code") == c.status) found.push_back(&s);
    if (found.size() != 1) {
      ADD_FAILURE() << found.size() << " spans with rpc.method=" << c.method << " rpc.grpc.status_code=" << c.status
                    << " among:\n"
                    << Describe(spans);
      continue;
    }
    const ReceivedSpan& s = *found[0];
    EXPECT_EQ(s.kind, kind);
    EXPECT_EQ(s.name, "sonde.test.Echo/" + c.method);
    EXPECT_EQ(s.Attr("rpc.system"), "grpc");
    EXPECT_EQ(s.Attr("rpc.service"), "sonde.test.Echo");
    EXPECT_EQ(s.IntAttr("sonde.grpc.request_messages"), c.request_messages);
    EXPECT_EQ(s.IntAttr("sonde.grpc.response_messages"), c.response_messages);
    EXPECT_EQ(s.Attr("server.address"), "127.0.0.1");
    EXPECT_EQ(s.IntAttr("server.port"), port);
    EXPECT_EQ(s.Attr("network.peer.address"), "127.0.0.1");
    if (server) {
      auto peer = s.IntAttr("network.peer.port");
      EXPECT_TRUE(peer && *peer > 0 && *peer != port) << "network.peer.port: the client's port";
      if (peer) client_ports.insert(*peer);
    } else {
      EXPECT_EQ(s.IntAttr("network.peer.port"), port);
    }
    const bool error = c.status != 0 && (!server || IsServerErrorCode(c.status));
    if (error) {
      EXPECT_EQ(s.status_code, kError);
      EXPECT_EQ(s.Attr("error.type"), std::to_string(c.status));
      EXPECT_EQ(s.status_message, "requested status " + std::to_string(c.status));
    } else {
      EXPECT_EQ(s.status_code, kUnset);
      EXPECT_EQ(s.attributes.count("error.type"), 0u) << s.Attr("error.type");
    }
    if (server && c.traceparent) {
      EXPECT_EQ(s.trace_id, kEchoTraceId);
      EXPECT_EQ(s.parent_span_id, kEchoParentId);
      EXPECT_EQ(s.Attr("sonde.parent.source"), "header");
    } else if (server && s.Attr("sonde.parent.source") == "connection") {
      // Its client is traced too: the CLIENT span is the parent
      // (stitch_test.cc checks which).
      EXPECT_FALSE(s.parent_span_id.empty());
    } else {
      // A CLIENT span's outgoing traceparent was written by the traced process
      // itself: it is not the span's parent.
      EXPECT_TRUE(s.parent_span_id.empty()) << s.parent_span_id;
      EXPECT_EQ(s.Attr("sonde.parent.source"), "none");
    }
    if (i < results.size()) ExpectInside(s, results[i].start_ns, results[i].end_ns);
  }
  if (server) {
    EXPECT_EQ(client_ports.size(), 1u) << "the client made every call over one channel, one connection";
  }
}

void ExpectTruthfulOrAbsent(const ReceivedSpan& s, const EchoCall& truth) {
  SCOPED_TRACE("span '" + s.name + "' for " + truth.spec);
  const bool partial = s.BoolAttr("sonde.http.headers_partial").value_or(false);
  if (s.attributes.count("sonde.http.headers_partial")) {
    EXPECT_EQ(s.attribute_types.at("sonde.http.headers_partial"), "bool");
    EXPECT_TRUE(partial) << "sonde.http.headers_partial is only ever true";
  }
  if (!partial) {
    // Everything was decoded: the span is complete.
    EXPECT_EQ(s.name, "sonde.test.Echo/" + truth.method);
    EXPECT_EQ(s.Attr("rpc.method"), truth.method);
    EXPECT_EQ(s.IntAttr("rpc.grpc.status_code"), truth.status);
  }
  for (const char* other : {"Unary", "ServerStream", "ClientStream", "Bidi"}) {
    if (truth.method == other) continue;
    EXPECT_EQ(s.name.find(other), std::string::npos) << "an invented method";
    EXPECT_EQ(s.Attr("url.path").find(other), std::string::npos) << "an invented path";
  }
  if (s.attributes.count("rpc.method")) {
    EXPECT_EQ(s.Attr("rpc.method"), truth.method);
  }
  if (s.attributes.count("rpc.service")) {
    EXPECT_EQ(s.Attr("rpc.service"), "sonde.test.Echo");
  }
  if (s.attributes.count("url.path")) {
    EXPECT_EQ(s.Attr("url.path"), "/sonde.test.Echo/" + truth.method);
  }
  if (s.attributes.count("http.request.method")) {
    EXPECT_EQ(s.Attr("http.request.method"), "POST");
  }
  if (s.attributes.count("rpc.grpc.status_code")) {
    EXPECT_EQ(s.IntAttr("rpc.grpc.status_code"), truth.status);
  }
  if (s.attributes.count("sonde.grpc.response_messages")) {
    EXPECT_EQ(s.IntAttr("sonde.grpc.response_messages"), truth.response_messages);
  }
  if (truth.status == 0) {
    EXPECT_NE(s.status_code, kError);
  }
}

}  // namespace sonde::testing
