// PostgreSQL through the connection tracker: the registry entry, inference
// on fresh and pre-existing connections, and what it must not claim.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "decoders/connection_tracker.h"
#include "test_util.h"

namespace sonde::test {
namespace {

using namespace wire;  // NOLINT: builders read like the protocol

constexpr Direction kIn = Direction::kIngress;
constexpr Direction kOut = Direction::kEgress;

// Builds chunks with per-connection, per-direction positions.
class Driver {
 public:
  void Data(const ConnInfo& c, Direction dir, std::string_view bytes, uint64_t ts) {
    uint64_t& pos = pos_[{c.key.fd, static_cast<int>(dir)}];
    const std::string& kept = store_.emplace_back(bytes);
    DataChunk chunk{pos, static_cast<uint32_t>(bytes.size()), kept, ts, 1};
    pos += bytes.size();
    tracker.OnData(c, dir, chunk);
  }
  std::vector<Message> Drain() {
    std::vector<Message> out;
    tracker.Drain(&out);
    return out;
  }

  ConnectionTracker tracker;

 private:
  std::map<std::tuple<int, int>, uint64_t> pos_;
  std::deque<std::string> store_;
};

TEST(PgTracker, FreshClientConnection) {
  Driver d;
  ConnInfo c = MakeConn(Role::kClient);
  d.tracker.OnOpen(c, 1);
  const std::string startup = Startup({{"user", "app"}, {"database", "orders"}});
  // libpq writes the startup packet in one go; split it to exercise stashing.
  d.Data(c, kOut, startup.substr(0, 3), 10);
  d.Data(c, kOut, startup.substr(3), 11);
  d.Data(c, kIn, Welcome(), 12);
  d.Data(c, kOut, Query("SELECT 1"), 13);
  d.Data(c, kIn, Complete("SELECT 1") + Ready(), 14);
  EXPECT_EQ(d.tracker.ProtocolOf(c.key), Protocol::kPostgres);
  std::vector<Message> m = d.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).database, "orders");
  EXPECT_EQ(m[0].conn.role, Role::kClient);
  EXPECT_EQ(std::string(ProtocolName(Protocol::kPostgres)), "postgresql");
}

TEST(PgTracker, SslRequestThenPlainStartup) {
  Driver d;
  ConnInfo c = MakeConn(Role::kServer);
  d.tracker.OnOpen(c, 1);
  d.Data(c, kIn, SslRequest(), 10);
  d.Data(c, kOut, "N", 11);
  d.Data(c, kIn, Startup({{"user", "app"}}), 12);
  d.Data(c, kOut, Welcome(), 13);
  d.Data(c, kIn, Query("SELECT 1"), 14);
  d.Data(c, kOut, Complete("SELECT 1") + Ready(), 15);
  std::vector<Message> m = d.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].conn.role, Role::kServer);
  EXPECT_EQ(d.tracker.stats().resyncs, 0u);
}

TEST(PgTracker, PreexistingConnectionInfersTheRole) {
  Driver d;
  ConnInfo c = MakeConn(Role::kUnknown);
  // The middle of a result first: not a message start, dropped and counted.
  d.Data(c, kIn, std::string(300, 'x'), 10);
  d.Data(c, kOut, Parse("", "SELECT $1") + Bind("", "", {"1"}) + Execute() + Sync(), 11);
  d.Data(c, kIn, ParseComplete() + BindComplete() + DataRow({"1"}) + Complete("SELECT 1") + Ready(), 12);
  EXPECT_EQ(d.tracker.ProtocolOf(c.key), Protocol::kPostgres);
  std::vector<Message> m = d.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].conn.role, Role::kClient);
  EXPECT_TRUE(m[0].conn.role_inferred);
  EXPECT_EQ(Ex(m[0]).query_text, "SELECT $1");
}

TEST(PgTracker, OtherProtocolsAreNotClaimed) {
  struct Proto {
    const char* name;
    std::string first;
  };
  const Proto protos[] = {
      {"http request", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"redis", "*1\r\n$4\r\nPING\r\n"},
      {"redis inline", "PING\r\n"},
      {"tls", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11)},
      {"ssh", "SSH-2.0-OpenSSH_9.2\r\n"},
      {"mysql greeting", std::string("\x4a\0\0\0\x0a" "8.0.36\0", 12)},
  };
  for (const Proto& p : protos) {
    Driver d;
    ConnInfo c = MakeConn(Role::kClient);
    d.tracker.OnOpen(c, 1);
    d.Data(c, kOut, p.first, 10);
    EXPECT_NE(d.tracker.ProtocolOf(c.key), Protocol::kPostgres) << p.name;
  }
}

TEST(PgTracker, RandomBytesAreRarelyClaimed) {
  std::mt19937 rng(99);
  int claimed = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(64 + rng() % 400, '\0');
    for (char& ch : bytes) ch = static_cast<char>(rng());
    InferResult r = PgDecoder::Infer(i % 2 ? kOut : kIn, bytes);
    claimed += r.verdict == InferVerdict::kYes ? 1 : 0;
  }
  EXPECT_EQ(claimed, 0);
}

}  // namespace
}  // namespace sonde::test
