// Calls sonde.test.Echo with Debian's grpc++ over one channel.
// Usage: grpc_echo_client PORT [--ca CA_CERT] CALL...   (CALL as in echo_client.py)
// Prints per call: RESULT KIND STATUS START_NS END_NS replies=N echo=KEY=VALUE;... details=GRPC_MESSAGE
#include <grpcpp/grpcpp.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/apps/grpc/echo.grpc.pb.h"

namespace {

using sonde::test::EchoReply;
using sonde::test::EchoRequest;

struct Call {
  std::string kind;
  int count = 1;
  int fail = 0;
  std::string msg = "hello";
  std::vector<std::pair<std::string, std::string>> md;
};

Call ParseCall(const std::string& spec) {
  Call c;
  std::stringstream in(spec);
  std::string part;
  std::getline(in, c.kind, ',');
  while (std::getline(in, part, ',')) {
    size_t eq = part.find('=');
    std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    if (key == "md") {
      size_t at = value.find('=');
      c.md.emplace_back(value.substr(0, at), value.substr(at + 1));
    } else if (key == "count") {
      c.count = std::stoi(value);
    } else if (key == "fail") {
      c.fail = std::stoi(value);
    } else if (key == "msg") {
      c.msg = value;
    }
  }
  return c;
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs one call; returns its status and counts the replies.
grpc::Status Run(sonde::test::Echo::Stub* stub, grpc::ClientContext* ctx, const Call& c, int* replies) {
  for (const auto& [k, v] : c.md) ctx->AddMetadata(k, v);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  EchoRequest one;
  one.set_message(c.msg);
  one.set_fail_with(c.fail);
  one.set_count(c.count);
  std::vector<EchoRequest> many(c.count);
  for (int i = 0; i < c.count; ++i) {
    many[i].set_message(c.msg + "-" + std::to_string(i));
    many[i].set_fail_with(c.fail);
  }
  EchoReply reply;
  if (c.kind == "unary" || c.kind == "client_stream") {
    grpc::Status st;
    if (c.kind == "unary") {
      st = stub->Unary(ctx, one, &reply);
    } else {
      auto writer = stub->ClientStream(ctx, &reply);
      for (const auto& r : many) writer->Write(r);
      writer->WritesDone();
      st = writer->Finish();
    }
    *replies = st.ok() ? 1 : 0;
    return st;
  }
  if (c.kind == "server_stream") {
    auto reader = stub->ServerStream(ctx, one);
    while (reader->Read(&reply)) ++*replies;
    return reader->Finish();
  }
  auto stream = stub->Bidi(ctx);
  for (const auto& r : many) stream->Write(r);
  stream->WritesDone();
  while (stream->Read(&reply)) ++*replies;
  return stream->Finish();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    fprintf(stderr, "usage: %s PORT [--ca CA_CERT] CALL...\n", argv[0]);
    return 2;
  }
  std::string target = "127.0.0.1:" + args[0];
  args.erase(args.begin());
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (args.size() >= 2 && args[0] == "--ca") {
    grpc::SslCredentialsOptions opts;
    opts.pem_root_certs = ReadFile(args[1]);
    creds = grpc::SslCredentials(opts);
    args.erase(args.begin(), args.begin() + 2);
  }
  auto stub = sonde::test::Echo::NewStub(grpc::CreateChannel(target, creds));
  for (const std::string& spec : args) {
    Call c = ParseCall(spec);
    if (c.kind == "pause") {
      printf("paused\n");
      fflush(stdout);
      std::string line;
      std::getline(std::cin, line);
      continue;
    }
    if (c.kind != "unary" && c.kind != "server_stream" && c.kind != "client_stream" && c.kind != "bidi") {
      fprintf(stderr, "unknown call kind '%s'\n", c.kind.c_str());
      return 2;
    }
    grpc::ClientContext ctx;
    int replies = 0;
    uint64_t t0 = NowNs();
    grpc::Status st = Run(stub.get(), &ctx, c, &replies);
    uint64_t t1 = NowNs();
    std::string echo;
    for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
      std::string key(k.data(), k.size());
      if (key.rfind("x-", 0) != 0) continue;
      if (!echo.empty()) echo += ";";
      echo += key + "=" + std::string(v.data(), v.size());
    }
    printf("RESULT %s %d %llu %llu replies=%d echo=%s details=%s\n", c.kind.c_str(), static_cast<int>(st.error_code()),
           static_cast<unsigned long long>(t0), static_cast<unsigned long long>(t1), replies, echo.c_str(),
           st.ok() ? "" : st.error_message().c_str());
    fflush(stdout);
  }
}
