// Bytes recorded from real gRPC and h2c clients and servers
// (tests/captures/http2, see record.sh), decoded whole and compared with a
// golden file (<name>.golden), then under other chunkings, from either
// side, through the connection tracker, and joined mid-stream. On a
// mismatch the actual output is written to http2_golden/<name>.actual in the
// test's working directory, so the diff is one command away.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "decoders/connection_tracker.h"
#include "test_util.h"

namespace sonde::test {
namespace {

const std::vector<std::string> kCaptures = {
    "grpc_unary",  "grpc_error", "grpc_server_stream", "grpc_client_stream", "grpc_bidi",
    "grpc_many",   "grpc_cancel", "grpcjs_unary",      "curl_get",           "curl_post",
    "curl_big",    "node_padded", "node_bighdr",       "node_cancel",        "node_push",
};

std::vector<Message> DecodeWhole(const std::vector<CapChunk>& cap, Role role,
                                 DecodeCounters* counters = nullptr) {
  Feeder f(role);
  FeedCapture(f, cap);
  f.Close();
  if (counters) *counters = f.counters();
  return f.Drain();
}

class CaptureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CaptureTest, MatchesGolden) {
  const std::vector<CapChunk> cap = ReadCapture(GetParam());
  DecodeCounters counters;
  const std::string actual = Dump(DecodeWhole(cap, Role::kClient, &counters));
  const std::string golden = ReadFileOrEmpty(CapturePath(GetParam() + ".golden"));
  if (actual != golden) {
    std::filesystem::create_directories("http2_golden");
    std::ofstream(std::string("http2_golden/") + GetParam() + ".actual", std::ios::binary)
        << actual;
  }
  EXPECT_EQ(actual, golden) << "actual output in http2_golden/" << GetParam() << ".actual";
  // Real traffic decodes without loss.
  EXPECT_EQ(counters.resyncs, 0u);
  EXPECT_EQ(counters.bytes_skipped, 0u);
  EXPECT_EQ(counters.orphan_responses, 0u);
  EXPECT_EQ(counters.pending_overflows, 0u);
}

TEST_P(CaptureTest, SameFromTheServerSide) {
  const std::vector<CapChunk> cap = ReadCapture(GetParam());
  EXPECT_EQ(Dump(DecodeWhole(cap, Role::kServer)), Dump(DecodeWhole(cap, Role::kClient)));
}

// Stream offsets (per direction) of every frame header in a capture.
std::vector<uint64_t> FrameStarts(const std::vector<CapChunk>& cap, bool to_server) {
  const std::string bytes = Joined(cap, to_server);
  std::vector<uint64_t> starts;
  size_t off = to_server ? http2::kClientPreface.size() : 0;
  while (off + http2::kFrameHeaderBytes <= bytes.size()) {
    starts.push_back(off);
    off += http2::kFrameHeaderBytes + http2::ParseFrameHeader(bytes.data() + off).length;
  }
  return starts;
}

// Every chunk split in two at every byte boundary (one at a time) decodes
// to the same exchanges. In chunks over 8 KiB (a 40 KiB header block costs
// a lot to decode again and again) the middle is sampled, except around
// frame headers, where every boundary is tried.
TEST_P(CaptureTest, SplitAtEveryByteBoundary) {
  const std::vector<CapChunk> cap = ReadCapture(GetParam());
  const std::string whole = Dump(DecodeWhole(cap, Role::kClient));
  const std::vector<uint64_t> starts[2] = {FrameStarts(cap, false), FrameStarts(cap, true)};
  uint64_t pos[2] = {0, 0};
  size_t checked = 0;
  for (size_t i = 0; i < cap.size(); ++i) {
    const size_t len = cap[i].bytes.size();
    const int d = cap[i].to_server ? 1 : 0;
    auto near_frame_header = [&](uint64_t at) {
      for (uint64_t s : starts[d]) {
        if (at + 16 >= s && at <= s + http2::kFrameHeaderBytes + 16) return true;
      }
      return false;
    };
    for (size_t k = 1; k < len; ++k) {
      if (len > 8192 && k > 4096 && len - k > 4096 && k % 61 != 0 && !near_frame_header(pos[d] + k)) {
        continue;
      }
      std::vector<CapChunk> split(cap.begin(), cap.begin() + i);
      split.push_back({cap[i].to_server, cap[i].bytes.substr(0, k)});
      split.push_back({cap[i].to_server, cap[i].bytes.substr(k)});
      split.insert(split.end(), cap.begin() + i + 1, cap.end());
      ASSERT_EQ(Dump(DecodeWhole(split, Role::kClient)), whole) << "chunk " << i << " split at " << k;
      ++checked;
    }
    pos[d] += len;
  }
  EXPECT_GT(checked, 0u);
}

TEST_P(CaptureTest, OneBytePerSyscall) {
  const std::vector<CapChunk> cap = ReadCapture(GetParam());
  std::vector<CapChunk> bytes;
  for (const CapChunk& c : cap) {
    for (char b : c.bytes) bytes.push_back({c.to_server, std::string(1, b)});
  }
  EXPECT_EQ(Dump(DecodeWhole(bytes, Role::kClient)), Dump(DecodeWhole(cap, Role::kClient)));
}

// Through the tracker, from the connection's open: inferred from the
// preface, whichever side is traced, with the same exchanges.
TEST_P(CaptureTest, InferredByTheTracker) {
  const std::vector<CapChunk> cap = ReadCapture(GetParam());
  for (Role role : {Role::kClient, Role::kServer}) {
    ConnectionTracker tracker;
    ConnInfo info = MakeConn(Role::kUnknown);
    tracker.OnOpen(info, 1);
    uint64_t pos[2] = {0, 0}, ts = 10;
    for (const CapChunk& c : cap) {
      const bool egress = c.to_server == (role == Role::kClient);
      const Direction dir = egress ? Direction::kEgress : Direction::kIngress;
      DataChunk chunk{pos[static_cast<int>(dir)], static_cast<uint32_t>(c.bytes.size()), c.bytes,
                      ++ts, 1};
      pos[static_cast<int>(dir)] += c.bytes.size();
      tracker.OnData(info, dir, chunk);
    }
    EXPECT_EQ(tracker.ProtocolOf(info.key), Protocol::kHttp2);
    tracker.OnClose(info.key, ++ts);
    std::vector<Message> out;
    tracker.Drain(&out);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0].conn.role, role);
    EXPECT_EQ(Dump(out), Dump(DecodeWhole(cap, Role::kClient)));
  }
}

INSTANTIATE_TEST_SUITE_P(Captures, CaptureTest, ::testing::ValuesIn(kCaptures),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sonde::test
