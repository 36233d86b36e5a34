// Closed-loop gRPC load generator for sonde's overhead benchmark: Unary calls
// of sonde.test.Echo (tests/integration/apps/grpc/echo.proto) as fast as the
// server answers them.
//
//   bench_grpc_loadgen --port P [--host 127.0.0.1] [--channels 4] [--streams 8]
//                      [--duration S] [--message TEXT]
//
// Each channel is its own HTTP/2 connection (a local subchannel pool, so
// channels with equal arguments do not share one) driven by its own thread and
// completion queue, which keeps --streams calls in flight on it: a call is
// issued again the moment its reply arrives. Latency runs from issuing a call
// to its completion. Prints one JSON object on stdout, with the keys of
// bench_loadgen: achieved calls/s, completed, errors, p50/p99/max (µs).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/apps/grpc/echo.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using sonde::test::Echo;
using sonde::test::EchoReply;
using sonde::test::EchoRequest;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int channels = 4;
  int streams = 8;
  double duration = 10;
  std::string message = "ping";
};

// One call in flight; a ClientContext serves one call only, so every call
// gets a fresh one.
struct Call {
  grpc::ClientContext ctx;
  EchoReply reply;
  grpc::Status status;
  Clock::time_point start;
  std::unique_ptr<grpc::ClientAsyncResponseReader<EchoReply>> rpc;
};

struct Tally {
  std::vector<uint32_t> latency_us;  // completed calls only
  uint64_t errors = 0;
  uint64_t unfinished = 0;
};

// Drives one channel until `end`, then waits for its calls in flight.
void RunChannel(Echo::Stub* stub, const Options& o, Clock::time_point end, Tally* t) {
  grpc::CompletionQueue cq;
  EchoRequest req;
  req.set_message(o.message);
  auto issue = [&] {
    auto* c = new Call;
    c->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    c->start = Clock::now();
    c->rpc = stub->PrepareAsyncUnary(&c->ctx, req, &cq);
    c->rpc->StartCall();
    c->rpc->Finish(&c->reply, &c->status, c);
  };
  t->latency_us.reserve(1 << 18);
  int in_flight = 0;
  for (int i = 0; i < o.streams; ++i, ++in_flight) issue();
  void* tag = nullptr;
  bool ok = false;
  while (in_flight > 0) {
    // Every call has a 10 s deadline: a queue silent for longer is broken.
    auto wait = std::chrono::system_clock::now() + std::chrono::seconds(15);
    if (cq.AsyncNext(&tag, &ok, wait) != grpc::CompletionQueue::NextStatus::GOT_EVENT) {
      t->unfinished += static_cast<uint64_t>(in_flight);
      break;
    }
    std::unique_ptr<Call> c(static_cast<Call*>(tag));
    --in_flight;
    Clock::time_point now = Clock::now();
    if (ok && c->status.ok()) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c->start).count();
      t->latency_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    } else {
      ++t->errors;
    }
    if (now < end) {
      issue();
      ++in_flight;
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) delete static_cast<Call*>(tag);
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    const char* v = argv[i + 1];
    if (!strcmp(k, "--host")) o->host = v;
    else if (!strcmp(k, "--port")) o->port = atoi(v);
    else if (!strcmp(k, "--channels")) o->channels = atoi(v);
    else if (!strcmp(k, "--streams")) o->streams = atoi(v);
    else if (!strcmp(k, "--duration")) o->duration = atof(v);
    else if (!strcmp(k, "--message")) o->message = v;
    else return false;
  }
  return argc % 2 == 1 && o->port > 0 && o->channels > 0 && o->streams > 0 && o->duration > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    fprintf(stderr,
            "usage: %s --port P [--host H] [--channels N] [--streams N] [--duration S] [--message TEXT]\n",
            argv[0]);
    return 2;
  }
  std::string target = o.host + ":" + std::to_string(o.port);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<Echo::Stub>> stubs;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto ch = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      fprintf(stderr, "could not connect to %s\n", target.c_str());
      return 1;
    }
    stubs.push_back(Echo::NewStub(ch));
    channels.push_back(std::move(ch));
  }
  std::vector<Tally> tallies(static_cast<size_t>(o.channels));
  Clock::time_point t0 = Clock::now();
  Clock::time_point end = t0 + std::chrono::microseconds(static_cast<int64_t>(o.duration * 1e6));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.channels; ++i) threads.emplace_back(RunChannel, stubs[i].get(), std::cref(o), end, &tallies[i]);
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<uint32_t> all;
  uint64_t errors = 0, unfinished = 0;
  for (auto& t : tallies) {
    all.insert(all.end(), t.latency_us.begin(), t.latency_us.end());
    errors += t.errors;
    unfinished += t.unfinished;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0u : all[static_cast<size_t>(q * static_cast<double>(all.size() - 1))]; };
  printf("{\"rps\": %.1f, \"completed\": %zu, \"errors\": %llu, \"unfinished\": %llu, \"p50_us\": %u, "
         "\"p99_us\": %u, \"max_us\": %u, \"channels\": %d, \"streams\": %d}\n",
         static_cast<double>(all.size()) / elapsed, all.size(), static_cast<unsigned long long>(errors),
         static_cast<unsigned long long>(unfinished), pct(0.5), pct(0.99), all.empty() ? 0u : all.back(), o.channels,
         o.streams);
  return all.empty() ? 1 : 0;
}
