// gRPC end to end: Python (grpcio), Node.js (@grpc/grpc-js) and C++ (grpc++)
// echo servers and clients, each language on both sides, traced by the real
// sonde with its real BPF programs. Every test knows each call it made, and
// asserts the exact spans of it: count, kind, name, attributes, status, parent.
#include <algorithm>
#include <utility>

#include "grpc_apps.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

std::vector<ReceivedSpan> ByStart(std::vector<ReceivedSpan> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const ReceivedSpan& a, const ReceivedSpan& b) { return a.start_unix_ns < b.start_unix_ns; });
  return spans;
}

class GrpcTest : public SondeTest {
 protected:
  // Both processes traced: the server's SERVER spans and the client's CLIENT
  // spans, each exactly one per call.
  void ExpectBothSides(Child* server, Lang server_lang, Child* client, Lang client_lang,
                       const std::vector<EchoCall>& plan, const std::vector<ClientResult>& results, uint16_t port) {
    auto server_spans = AllSpansOf(server->pid(), plan.size());
    {
      SCOPED_TRACE(SdkLanguage(server_lang) + " server");
      ExpectEchoSpans(server_spans, kServer, plan, results, port);
      for (const auto& s : server_spans) EXPECT_EQ(s.resource.at("telemetry.sdk.language"), SdkLanguage(server_lang));
    }
    auto client_spans = AllSpansOf(client->pid(), plan.size());
    {
      SCOPED_TRACE(SdkLanguage(client_lang) + " client");
      ExpectEchoSpans(client_spans, kClient, plan, results, port);
      for (const auto& s : client_spans) EXPECT_EQ(s.resource.at("telemetry.sdk.language"), SdkLanguage(client_lang));
    }
    // The same calls seen from both ends: each SERVER span lies within its CLIENT span.
    for (const auto& ss : server_spans)
      for (const auto& cs : client_spans)
        if (ss.Attr("rpc.method") == cs.Attr("rpc.method") &&
            ss.IntAttr("rpc.grpc.status_code") == cs.IntAttr("rpc.grpc.status_code")) {
          EXPECT_GE(ss.start_unix_ns + kSlackNs, cs.start_unix_ns) << ss.name;
          EXPECT_LE(ss.end_unix_ns, cs.end_unix_ns + kSlackNs) << ss.name;
        }
  }
};

TEST_F(GrpcTest, PythonClientToCppServerBothTraced) {
  StartSonde();
  uint16_t port = FreePort();
  auto server = StartEchoServer(Lang::kCpp, port, /*tls=*/false);
  auto plan = FullPlan();
  auto client = StartEchoClient(Lang::kPython, port, /*tls=*/false, Specs(plan));
  auto results = EchoResults(client.get(), plan);
  ASSERT_EQ(results.size(), plan.size());
  ExpectBothSides(server.get(), Lang::kCpp, client.get(), Lang::kPython, plan, results, port);
}

TEST_F(GrpcTest, NodeClientToPythonServerWithOnlyTheServerSelected) {
  uint16_t port = FreePort();
  auto server = StartEchoServer(Lang::kPython, port, /*tls=*/false);
  StartSonde({"--pid", std::to_string(server->pid())});
  auto plan = FullPlan();
  auto client = StartEchoClient(Lang::kNode, port, /*tls=*/false, Specs(plan));
  auto results = EchoResults(client.get(), plan);
  ASSERT_EQ(results.size(), plan.size());
  auto spans = AllSpansOf(server->pid(), plan.size());
  ExpectEchoSpans(spans, kServer, plan, results, port);
  for (const auto& s : spans) EXPECT_EQ(s.resource.at("telemetry.sdk.language"), "python");
  EXPECT_TRUE(SettledSpansOf(client->pid()).empty()) << "the client was not selected";
}

TEST_F(GrpcTest, CppClientToNodeServerWithOnlyTheClientSelected) {
  uint16_t port = FreePort();
  auto server = StartEchoServer(Lang::kNode, port, /*tls=*/false);
  // The client waits before its first call (its channel connects on that
  // call), so sonde can be told its pid first.
  auto plan = FullPlan();
  std::vector<std::string> calls = Specs(plan);
  calls.insert(calls.begin(), "pause");
  auto client = StartEchoClient(Lang::kCpp, port, /*tls=*/false, calls, /*pipe_stdin=*/true);
  ASSERT_TRUE(client->WaitForLine("paused", milliseconds(10000))) << client->seen();
  StartSonde({"--pid", std::to_string(client->pid())});
  client->WriteStdin("go\n");
  auto results = EchoResults(client.get(), plan);
  ASSERT_EQ(results.size(), plan.size());
  auto spans = AllSpansOf(client->pid(), plan.size());
  ExpectEchoSpans(spans, kClient, plan, results, port);
  for (const auto& s : spans) EXPECT_EQ(s.resource.at("telemetry.sdk.language"), "cpp");
  EXPECT_TRUE(SettledSpansOf(server->pid()).empty()) << "the server was not selected";
}

// TLS: the plaintext comes from the SSL_read/SSL_write uprobes, in the node
// binary (client) and in libssl.so.3 under grpc++ (server).
TEST_F(GrpcTest, OverTlsNodeClientToCppServerBothTraced) {
  StartSonde();
  uint16_t port = FreePort();
  auto server = StartEchoServer(Lang::kCpp, port, /*tls=*/true);
  auto plan = FullPlan();
  auto client = StartEchoClient(Lang::kNode, port, /*tls=*/true, Specs(plan));
  auto results = EchoResults(client.get(), plan);
  ASSERT_EQ(results.size(), plan.size());
  ExpectBothSides(server.get(), Lang::kCpp, client.get(), Lang::kNode, plan, results, port);
}

// A channel opened (and used) before sonde started: sonde joins its HTTP/2
// connection mid-stream without the HPACK tables. The later calls still give
// spans, and nothing in them is invented.
TEST_F(GrpcTest, ChannelOpenedBeforeSondeStartedGivesSpansForLaterCalls) {
  uint16_t port = FreePort();
  auto server = StartEchoServer(Lang::kNode, port, /*tls=*/false);
  const std::vector<EchoCall> later = {
      {"unary,msg=after,md=x-tenant=blue", "Unary", 0, 1, 1},  // same :path as before: indexed by HPACK
      {"server_stream,count=2", "ServerStream", 0, 1, 2},     // a new :path
  };
  std::vector<std::string> calls = {"unary,msg=before", "server_stream,count=1", "pause"};
  for (const auto& c : later) calls.push_back(c.spec);
  auto client = StartEchoClient(Lang::kPython, port, /*tls=*/false, calls, /*pipe_stdin=*/true);
  ASSERT_TRUE(client->WaitForLine("paused", milliseconds(15000))) << client->seen();
  auto before = ParseResults(client->seen());
  ASSERT_EQ(before.size(), 2u) << client->seen();
  for (const auto& r : before) EXPECT_EQ(r.status, 0) << client->seen();
  StartSonde();
  uint64_t t_go = UnixNowNs();
  client->WriteStdin("go\n");
  auto results = EchoResults(client.get(), later);
  ASSERT_EQ(results.size(), later.size());

  for (auto [pid, kind] : {std::pair{server->pid(), kServer}, std::pair{client->pid(), kClient}}) {
    SCOPED_TRACE(kind == kServer ? "node server" : "python client");
    auto spans = ByStart(AllSpansOf(pid, later.size()));
    ASSERT_EQ(spans.size(), later.size()) << "one span per call made after sonde started:\n" << Describe(spans);
    for (size_t i = 0; i < later.size(); ++i) {
      EXPECT_EQ(spans[i].kind, kind);
      ExpectTruthfulOrAbsent(spans[i], later[i]);
      EXPECT_GE(spans[i].start_unix_ns + kSlackNs, t_go) << "only calls made after sonde started";
      ExpectInside(spans[i], results[i].start_ns, results[i].end_ns);
    }
  }
}

}  // namespace
}  // namespace sonde::testing
