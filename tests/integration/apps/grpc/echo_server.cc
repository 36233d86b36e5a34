// sonde.test.Echo served by Debian's grpc++ with code generated from
// echo.proto (synchronous API, one thread per call).
// Usage: grpc_echo_server PORT [CERT KEY]   (with CERT and KEY: TLS)
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/integration/apps/grpc/echo.grpc.pb.h"

namespace {

using grpc::ServerContext;
using grpc::Status;
using sonde::test::EchoReply;
using sonde::test::EchoRequest;

// Request metadata whose key starts with "x-" goes back as trailing metadata.
void EchoMetadata(ServerContext* ctx) {
  for (const auto& [k, v] : ctx->client_metadata()) {
    std::string key(k.data(), k.size());
    if (key.rfind("x-", 0) == 0) ctx->AddTrailingMetadata(key, std::string(v.data(), v.size()));
  }
}

Status Failure(int code) {
  return Status(static_cast<grpc::StatusCode>(code), "requested status " + std::to_string(code));
}

class EchoService final : public sonde::test::Echo::Service {
  Status Unary(ServerContext* ctx, const EchoRequest* req, EchoReply* reply) override {
    EchoMetadata(ctx);
    if (req->fail_with()) return Failure(req->fail_with());
    reply->set_message(req->message());
    return Status::OK;
  }

  Status ServerStream(ServerContext* ctx, const EchoRequest* req, grpc::ServerWriter<EchoReply>* writer) override {
    EchoMetadata(ctx);
    for (int i = 0; i < req->count(); ++i) {
      EchoReply r;
      r.set_message(req->message());
      r.set_index(i);
      writer->Write(r);
    }
    return req->fail_with() ? Failure(req->fail_with()) : Status::OK;
  }

  Status ClientStream(ServerContext* ctx, grpc::ServerReader<EchoRequest>* reader, EchoReply* reply) override {
    EchoMetadata(ctx);
    EchoRequest req;
    int n = 0, fail = 0;
    while (reader->Read(&req)) {
      ++n;
      if (req.fail_with()) fail = req.fail_with();
      reply->set_message(req.message());
    }
    if (fail) return Failure(fail);
    reply->set_index(n);
    return Status::OK;
  }

  Status Bidi(ServerContext* ctx, grpc::ServerReaderWriter<EchoReply, EchoRequest>* stream) override {
    EchoMetadata(ctx);
    EchoRequest req;
    int n = 0, fail = 0;
    while (stream->Read(&req)) {
      if (req.fail_with()) fail = req.fail_with();
      EchoReply r;
      r.set_message(req.message());
      r.set_index(n++);
      stream->Write(r);
    }
    return fail ? Failure(fail) : Status::OK;
  }
};

std::string ReadFile(const char* path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: %s PORT [CERT KEY]\n", argv[0]);
    return 2;
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (argc == 4) {
    grpc::SslServerCredentialsOptions opts;
    opts.pem_key_cert_pairs.push_back({ReadFile(argv[3]), ReadFile(argv[2])});
    creds = grpc::SslServerCredentials(opts);
  }
  EchoService service;
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(std::string("127.0.0.1:") + argv[1], creds, &bound);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    fprintf(stderr, "could not listen on 127.0.0.1:%s\n", argv[1]);
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  server->Wait();
}
