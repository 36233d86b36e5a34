// The gRPC echo apps of tests/integration/apps/grpc (Python, Node.js and C++
// servers and clients of sonde.test.Echo) and the spans their calls must give.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sonde_fixture.h"

namespace sonde::testing {

enum class Lang { kPython, kNode, kCpp };

// Starts the echo server of `lang` on 127.0.0.1:port (TLS with the test
// certificates when `tls`) and waits until it accepts connections.
std::unique_ptr<Child> StartEchoServer(Lang lang, uint16_t port, bool tls);
// Starts the echo client of `lang` making `calls` (see echo_client.py) over one
// channel to 127.0.0.1:port, trusting the test CA when `tls`.
std::unique_ptr<Child> StartEchoClient(Lang lang, uint16_t port, bool tls, const std::vector<std::string>& calls,
                                       bool pipe_stdin = false);
// The resource's telemetry.sdk.language sonde gives the app's process.
std::string SdkLanguage(Lang lang);

// The traceparent one call of FullPlan() carries.
inline constexpr char kEchoTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
inline constexpr char kEchoParentId[] = "00f067aa0ba902b7";

// One call of a client's plan and the truth about it.
struct EchoCall {
  std::string spec;    // as given to the client: "unary,fail=14"
  std::string method;  // "Unary", "ServerStream", "ClientStream", "Bidi"
  int status = 0;      // the gRPC status the server ends it with
  int request_messages = 0;
  int response_messages = 0;
  bool traceparent = false;  // the call sends kEchoTraceId/kEchoParentId
};

// Unary and each streaming kind; OK, statuses that are errors on both sides
// and statuses that are errors on the CLIENT side only; metadata; a traceparent.
std::vector<EchoCall> FullPlan();
std::vector<std::string> Specs(const std::vector<EchoCall>& plan);

// Reads the results of a client that runs `plan` (pauses excluded), checking
// that each call ended with the planned status and echoed its x- metadata:
// the apps did what the spans are compared with.
std::vector<ClientResult> EchoResults(Child* client, const std::vector<EchoCall>& plan);

// SERVER spans: Error only for these codes; CLIENT spans: for any non-OK code.
bool IsServerErrorCode(int code);

// `spans` are exactly one span of `kind` per call of `plan`, each with the
// name, attributes, status, parent and timing the call implies. `port` is the
// server's; `results` are the client's, in plan order.
void ExpectEchoSpans(const std::vector<ReceivedSpan>& spans, int kind, const std::vector<EchoCall>& plan,
                     const std::vector<ClientResult>& results, uint16_t port);

// For a call on a connection sonde joined late (HPACK state unknown): the span
// may lack what could not be decoded (then it says sonde.http.headers_partial),
// but whatever method, path or status it reports is the true one.
void ExpectTruthfulOrAbsent(const ReceivedSpan& s, const EchoCall& truth);

}  // namespace sonde::testing
