// Frame headers, the checks on them, probing bytes for frames, and protocol
// inference: the preface, frames of a connection joined mid-stream, and no
// confusion with HTTP/1, Redis, PostgreSQL or TLS either way.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "decoders/http1/http1_decoder.h"
#include "decoders/http2/h2_frame.h"
#include "decoders/postgres/pg_decoder.h"
#include "decoders/redis/redis_decoder.h"
#include "decoders/stream_decoder.h"
#include "test_util.h"

namespace sonde::test {
namespace {

using http2::Probe;

constexpr Direction kOut = Direction::kEgress;
constexpr Direction kIn = Direction::kIngress;
const std::string kPreface(http2::kClientPreface);

TEST(Http2Frame, ParsesTheNineByteHeader) {
  const std::string h = FrameHeaderBytes(0x012345, 0x1, 0x25, 0x80000007);
  const http2::FrameHeader f = http2::ParseFrameHeader(h.data());
  EXPECT_EQ(f.length, 0x012345u);
  EXPECT_EQ(f.type, http2::kHeaders);
  EXPECT_EQ(f.flags, 0x25);
  EXPECT_EQ(f.stream_id, 7u);
  EXPECT_TRUE(f.reserved);
  EXPECT_TRUE(f.has(http2::kFlagEndStream));
  EXPECT_TRUE(f.has(http2::kFlagPriority));
}

http2::FrameHeader H(uint32_t len, uint8_t type, uint8_t flags, uint32_t stream) {
  return http2::ParseFrameHeader(FrameHeaderBytes(len, type, flags, stream).data());
}

TEST(Http2Frame, ShapeRules) {
  const uint32_t max = http2::kDefaultMaxFrameSize;
  EXPECT_TRUE(ShapeValid(H(100, http2::kData, 0, 1), max));
  EXPECT_FALSE(ShapeValid(H(100, http2::kData, 0, 0), max));   // DATA on stream 0
  EXPECT_FALSE(ShapeValid(H(16385, http2::kData, 0, 1), max));  // over the max size
  EXPECT_TRUE(ShapeValid(H(16385, http2::kData, 0, 1), 65536));
  EXPECT_TRUE(ShapeValid(H(12, http2::kSettings, 0, 0), max));
  EXPECT_FALSE(ShapeValid(H(13, http2::kSettings, 0, 0), max));  // not in 6-byte entries
  EXPECT_FALSE(ShapeValid(H(6, http2::kSettings, http2::kFlagAck, 0), max));
  EXPECT_FALSE(ShapeValid(H(0, http2::kSettings, 0, 3), max));
  EXPECT_TRUE(ShapeValid(H(8, http2::kPing, 0, 0), max));
  EXPECT_FALSE(ShapeValid(H(7, http2::kPing, 0, 0), max));
  EXPECT_FALSE(ShapeValid(H(5, http2::kRstStream, 0, 1), max));
  EXPECT_TRUE(ShapeValid(H(4, http2::kWindowUpdate, 0, 0), max));
  EXPECT_TRUE(ShapeValid(H(4, http2::kWindowUpdate, 0, 9), max));
  EXPECT_FALSE(ShapeValid(H(7, http2::kGoaway, 0, 0), max));
  EXPECT_FALSE(ShapeValid(H(4, http2::kPriority, 0, 1), max));
  EXPECT_TRUE(ShapeValid(H(30, 0x42, 0xff, 0), max));  // extension types pass
}

TEST(Http2Frame, StrictRules) {
  const uint32_t max = http2::kDefaultMaxFrameSize;
  EXPECT_TRUE(StrictlyValid(H(10, http2::kHeaders, 0x25, 1), max));
  EXPECT_FALSE(StrictlyValid(H(10, http2::kHeaders, 0x02, 1), max));  // undefined flag
  EXPECT_FALSE(StrictlyValid(H(4, http2::kHeaders, 0x20, 1), max));   // no room for priority
  EXPECT_FALSE(StrictlyValid(H(30, 0x42, 0, 0), max));                // unknown type
  EXPECT_FALSE(StrictlyValid(H(0, http2::kData, http2::kFlagPadded, 1), max));
  EXPECT_FALSE(http2::StrictlyValid(
      http2::ParseFrameHeader(FrameHeaderBytes(4, http2::kWindowUpdate, 0, 0x80000000).data()),
      max));
}

TEST(Http2Frame, FragmentRemovesPaddingAndPriority) {
  const std::string payload = std::string("\x02", 1) + "ABCDE" + "block" + std::string(2, '\0');
  std::string_view frag;
  ASSERT_TRUE(http2::FragmentOf(H(payload.size(), http2::kHeaders, 0x28, 1), payload, &frag));
  EXPECT_EQ(frag, "block");
  EXPECT_FALSE(http2::FragmentOf(H(3, http2::kHeaders, 0x08, 1), std::string("\x05xx", 3), &frag));
}

TEST(Http2Frame, ProbeFrames) {
  const uint32_t max = http2::kDefaultMaxFrameSize;
  const std::string frames = Settings({{3, 100}}) + WindowUpdate(0, 5) + Ping();
  EXPECT_EQ(http2::ProbeFrames(frames, max), Probe::kYes);
  // The last frame may run past what is here, even within its header.
  EXPECT_EQ(http2::ProbeFrames(frames.substr(0, frames.size() - 3), max), Probe::kYes);
  EXPECT_EQ(http2::ProbeFrames(frames.substr(0, frames.size() - 14), max), Probe::kYes);
  EXPECT_EQ(http2::ProbeFrames(frames.substr(0, 5), max), Probe::kNeedMore);
  EXPECT_EQ(http2::ProbeFrames("", max), Probe::kNeedMore);
  // A bad frame after good ones.
  EXPECT_EQ(http2::ProbeFrames(frames + FrameHeaderBytes(7, http2::kPing, 0, 0), max), Probe::kNo);
  EXPECT_EQ(http2::ProbeFrames(Frame(http2::kContinuation, 4, 1, "x"), max), Probe::kNo);
  EXPECT_EQ(http2::ProbeFrames(std::string("\x00\x00\x01\x09", 4), max), Probe::kNo);
  EXPECT_EQ(http2::ProbeFrames("GET / HTTP/1.1\r\n", max), Probe::kNo);
  EXPECT_EQ(http2::ProbeFrames(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9), max),
            Probe::kNo);
  EXPECT_EQ(http2::ProbeFrames("*1\r\n$4\r\nPING\r\n", max), Probe::kNo);
  // PostgreSQL's SSLRequest: a WINDOW_UPDATE with the reserved bit set.
  EXPECT_EQ(http2::ProbeFrames(std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8), max),
            Probe::kNo);
  // A lone frame running past the end is not enough; after a whole one it is.
  const std::string data = Data(3, std::string(100, 'd'), false);
  EXPECT_EQ(http2::ProbeFrames(data.substr(0, 50), max), Probe::kNeedMore);
  EXPECT_EQ(http2::ProbeFrames(data, max), Probe::kYes);
  EXPECT_EQ(http2::ProbeFrames(Ping() + data.substr(0, 50), max), Probe::kYes);
}

TEST(Http2Infer, Preface) {
  EXPECT_EQ(Http2Decoder::Infer(kOut, kPreface).verdict, InferVerdict::kYes);
  EXPECT_EQ(Http2Decoder::Infer(kOut, kPreface).role, Role::kClient);
  EXPECT_EQ(Http2Decoder::Infer(kIn, kPreface + Settings({})).role, Role::kServer);
  EXPECT_EQ(Http2Decoder::Infer(kOut, "PRI * HTTP/2").verdict, InferVerdict::kNeedMore);
  EXPECT_EQ(Http2Decoder::Infer(kOut, "PRI * HTTP/1.1\r\n").verdict, InferVerdict::kNo);
  EXPECT_EQ(Http2Decoder::Infer(kOut, "GET / HTTP/1.1\r\n").verdict, InferVerdict::kNo);
}

TEST(Http2Infer, FramesMidStreamAndWhoSentThem) {
  Conversation c;
  const std::string req = c.Request(5, GrpcRequest("/a.B/C"), false);
  const std::string resp = c.Response(5, GrpcResponse(), false);
  EXPECT_EQ(Http2Decoder::Infer(kOut, req).verdict, InferVerdict::kYes);
  EXPECT_EQ(Http2Decoder::Infer(kOut, req).role, Role::kClient);
  EXPECT_EQ(Http2Decoder::Infer(kIn, req).role, Role::kServer);
  EXPECT_EQ(Http2Decoder::Infer(kOut, resp).role, Role::kServer);
  EXPECT_EQ(Http2Decoder::Infer(kIn, resp + Data(5, "x", false)).role, Role::kClient);
  // Frames that do not say who sent them.
  const InferResult r = Http2Decoder::Infer(kIn, WindowUpdate(0, 100) + Ping(true));
  EXPECT_EQ(r.verdict, InferVerdict::kYes);
  EXPECT_EQ(r.role, Role::kUnknown);
  // Garbage after frames.
  EXPECT_EQ(Http2Decoder::Infer(kIn, WindowUpdate(0, 100) + "HTTP/1.1 200 OK").verdict,
            InferVerdict::kNo);
}

// Every capture of the other protocols (both directions, from their first
// byte and from every chunk start) is never taken for HTTP/2.
std::vector<std::string> OtherCaptures() {
  std::vector<std::string> files;
  for (const char* dir : {"http1", "redis", "postgres"}) {
    for (const auto& e :
         std::filesystem::directory_iterator(std::string(SONDE_CAPTURE_ROOT) + "/" + dir)) {
      const std::string ext = e.path().extension().string();
      if (ext == ".req" || ext == ".resp" || ext == ".cmd" || ext == ".reply" || ext == ".fe" ||
          ext == ".be") {
        files.push_back(e.path().string());
      }
    }
  }
  return files;
}

TEST(Http2Infer, OtherProtocolsAreNotHttp2) {
  const auto files = OtherCaptures();
  ASSERT_GT(files.size(), 20u);
  size_t probes = 0;
  for (const std::string& path : files) {
    const std::string bytes = ReadFileOrEmpty(path);
    // Every offset within the first 2 KiB, probing up to 512 bytes (the
    // tracker's stash) as a mid-stream join would.
    for (size_t off = 0; off < std::min<size_t>(bytes.size(), 2048); ++off) {
      const std::string_view probe = std::string_view(bytes).substr(off, 512);
      for (Direction d : {kOut, kIn}) {
        ASSERT_NE(Http2Decoder::Infer(d, probe).verdict, InferVerdict::kYes)
            << path << " at " << off;
        ++probes;
      }
    }
  }
  EXPECT_GT(probes, 10000u);
}

TEST(Http2Infer, Http2IsNotTakenForOtherProtocols) {
  for (const char* name : {"grpc_unary", "grpc_many", "curl_post", "node_padded", "node_push"}) {
    const auto cap = ReadCapture(name);
    size_t yes = 0;
    for (size_t i = 0; i < cap.size(); ++i) {
      for (Direction d : {kOut, kIn}) {
        const std::string_view probe = std::string_view(cap[i].bytes).substr(0, 512);
        EXPECT_NE(Http1Decoder::Infer(d, probe).verdict, InferVerdict::kYes) << name << " " << i;
        EXPECT_NE(RedisDecoder::Infer(d, probe).verdict, InferVerdict::kYes) << name << " " << i;
        EXPECT_NE(PgDecoder::Infer(d, probe).verdict, InferVerdict::kYes) << name << " " << i;
        // And every chunk start of a real capture reads as frames (some,
        // like a lone SETTINGS ACK or DATA, tell too little alone).
        const InferVerdict v = Http2Decoder::Infer(d, probe).verdict;
        EXPECT_NE(v, InferVerdict::kNo) << name << " " << i;
        yes += i > 0 && v == InferVerdict::kYes;
      }
    }
    EXPECT_GT(yes, 0u) << name;
  }
}

TEST(Http2Infer, RegistryOrderPutsHttp2AfterHttp1) {
  const auto protocols = Protocols();
  ASSERT_GE(protocols.size(), 2u);
  EXPECT_EQ(protocols[0].protocol, Protocol::kHttp1);
  EXPECT_EQ(protocols[1].protocol, Protocol::kHttp2);
  EXPECT_STREQ(ProtocolName(Protocol::kHttp2), "http2");
  // The first protocol that says yes to the preface is HTTP/2.
  for (const ProtocolEntry& e : protocols) {
    const InferResult r = e.infer(kOut, kPreface);
    if (r.verdict == InferVerdict::kYes) {
      EXPECT_EQ(e.protocol, Protocol::kHttp2);
      break;
    }
  }
}

}  // namespace
}  // namespace sonde::test
