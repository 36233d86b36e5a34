// HPACK through the decoder's wrapper: RFC 7541 Appendix C vectors (C.1
// integers; C.3/C.4 requests without and with Huffman coding; C.5/C.6
// responses with eviction at a 256-byte table), decoded in sync (nghttp2's
// inflater) and out of sync (the tolerant walker with its shadow table),
// then what joining mid-stream, cut blocks and bounds do.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <string>
#include <vector>

#include "decoders/http2/hpack.h"
#include "test_util.h"

namespace sonde::test {
namespace {

using http2::DecodedBlock;
using http2::HpackDecoder;

std::string Hex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out += static_cast<char>(hi * 16 + v);
      hi = -1;
    }
  }
  return out;
}

std::string Lines(const HeaderList& fields) {
  std::string s;
  for (const auto& [k, v] : fields) s += k + ": " + v + "\n";
  return s;
}

std::string Table(const HpackDecoder& d) {
  std::string s;
  for (size_t i = 0; i < d.table_entries(); ++i) {
    std::string name, value;
    if (d.TableEntry(i, &name, &value)) {
      s += "[" + std::to_string(i + 1) + "] " + name + ": " + value + "\n";
    } else {
      s += "[" + std::to_string(i + 1) + "] ?\n";
    }
  }
  return s;
}

struct Step {
  const char* wire;
  const char* fields;
  size_t table_size;
  const char* table;
};

// RFC 7541 C.3 (no Huffman) and C.4 (Huffman): the same three requests.
const char* const kReq1 = ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n";
const char* const kReq2 =
    ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\ncache-control: no-cache\n";
const char* const kReq3 =
    ":method: GET\n:scheme: https\n:path: /index.html\n:authority: www.example.com\n"
    "custom-key: custom-value\n";
const char* const kReqTable1 = "[1] :authority: www.example.com\n";
const char* const kReqTable2 = "[1] cache-control: no-cache\n[2] :authority: www.example.com\n";
const char* const kReqTable3 =
    "[1] custom-key: custom-value\n[2] cache-control: no-cache\n[3] :authority: www.example.com\n";

const std::vector<Step> kC3 = {
    {"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", kReq1, 57, kReqTable1},
    {"8286 84be 5808 6e6f 2d63 6163 6865", kReq2, 110, kReqTable2},
    {"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", kReq3, 164,
     kReqTable3},
};
const std::vector<Step> kC4 = {
    {"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", kReq1, 57, kReqTable1},
    {"8286 84be 5886 a8eb 1064 9cbf", kReq2, 110, kReqTable2},
    {"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", kReq3, 164, kReqTable3},
};

// RFC 7541 C.5 (no Huffman) and C.6 (Huffman): three responses, table size 256.
const char* const kResp1 =
    ":status: 302\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\n"
    "location: https://www.example.com\n";
const char* const kResp2 =
    ":status: 307\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\n"
    "location: https://www.example.com\n";
const char* const kResp3 =
    ":status: 200\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:22 GMT\n"
    "location: https://www.example.com\ncontent-encoding: gzip\n"
    "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n";
const char* const kRespTable1 =
    "[1] location: https://www.example.com\n[2] date: Mon, 21 Oct 2013 20:13:21 GMT\n"
    "[3] cache-control: private\n[4] :status: 302\n";
const char* const kRespTable2 =
    "[1] :status: 307\n[2] location: https://www.example.com\n"
    "[3] date: Mon, 21 Oct 2013 20:13:21 GMT\n[4] cache-control: private\n";
const char* const kRespTable3 =
    "[1] set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n"
    "[2] content-encoding: gzip\n[3] date: Mon, 21 Oct 2013 20:13:22 GMT\n";

const std::vector<Step> kC5 = {
    {"4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 "
     "2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 "
     "6c65 2e63 6f6d",
     kResp1, 222, kRespTable1},
    {"4803 3330 37c1 c0bf", kResp2, 222, kRespTable2},
    {"88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d "
     "54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 "
     "5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e "
     "3d31",
     kResp3, 215, kRespTable3},
};
const std::vector<Step> kC6 = {
    {"4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 "
     "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
     kResp1, 222, kRespTable1},
    {"4883 640e ffc1 c0bf", kResp2, 222, kRespTable2},
    {"88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab "
     "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f "
     "9587 3160 65c0 03ed 4ee5 b106 3d50 07",
     kResp3, 215, kRespTable3},
};

// The encoder of C.5/C.6 works with a 256-byte table from the start; the
// decoder learns it from a dynamic table size update (256) in front of the
// first block, as HTTP/2 has it after SETTINGS_HEADER_TABLE_SIZE.
const char* const kSizeUpdate256 = "3fe1 01";

void RunSteps(HpackDecoder& d, const std::vector<Step>& steps, bool resize_to_256,
              bool expect_sync) {
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("block " + std::to_string(i + 1));
    std::string wire = Hex(steps[i].wire);
    if (i == 0 && resize_to_256) wire = Hex(kSizeUpdate256) + wire;
    DecodedBlock b;
    d.Decode(wire, &b);
    EXPECT_EQ(Lines(b.fields), steps[i].fields);
    EXPECT_FALSE(b.partial);
    EXPECT_EQ(d.table_size(), steps[i].table_size);
    EXPECT_EQ(Table(d), steps[i].table);
    EXPECT_EQ(d.in_sync(), expect_sync);
  }
}

TEST(Hpack, IntegersOfAppendixC1) {
  uint64_t v = 0;
  std::string in = Hex("0a");
  std::string_view s = in;
  ASSERT_TRUE(http2::ReadHpackInt(&s, 5, &v));
  EXPECT_EQ(v, 10u);
  in = Hex("1f9a0a");
  s = in;
  ASSERT_TRUE(http2::ReadHpackInt(&s, 5, &v));
  EXPECT_EQ(v, 1337u);
  EXPECT_TRUE(s.empty());
  in = Hex("2a");
  s = in;
  ASSERT_TRUE(http2::ReadHpackInt(&s, 8, &v));
  EXPECT_EQ(v, 42u);
  // Cut short, and too large.
  in = Hex("1f9a");
  s = in;
  EXPECT_FALSE(http2::ReadHpackInt(&s, 5, &v));
  in = Hex("1fffffffffff0f");
  s = in;
  EXPECT_FALSE(http2::ReadHpackInt(&s, 5, &v));
}

TEST(Hpack, StaticTableMatchesNghttp2) {
  nghttp2_hd_inflater* inf = nullptr;
  ASSERT_EQ(nghttp2_hd_inflate_new(&inf), 0);
  for (uint64_t i = 1; i <= http2::kStaticEntries; ++i) {
    const nghttp2_nv* nv = nghttp2_hd_inflate_get_table_entry(inf, i);
    ASSERT_NE(nv, nullptr);
    const auto [name, value] = http2::StaticEntry(i);
    EXPECT_EQ(name, std::string_view(reinterpret_cast<const char*>(nv->name), nv->namelen)) << i;
    EXPECT_EQ(value, std::string_view(reinterpret_cast<const char*>(nv->value), nv->valuelen))
        << i;
  }
  nghttp2_hd_inflate_del(inf);
  EXPECT_TRUE(http2::StaticEntry(62).first.empty());
}

TEST(Hpack, RequestsWithoutHuffmanInSync) {
  HpackDecoder d;
  d.StartInSync();
  RunSteps(d, kC3, false, true);
}

TEST(Hpack, RequestsWithHuffmanInSync) {
  HpackDecoder d;
  d.StartInSync();
  RunSteps(d, kC4, false, true);
}

TEST(Hpack, ResponsesWithEvictionInSync) {
  HpackDecoder d;
  d.StartInSync();
  RunSteps(d, kC5, true, true);
}

TEST(Hpack, ResponsesWithHuffmanAndEvictionInSync) {
  HpackDecoder d;
  d.StartInSync();
  RunSteps(d, kC6, true, true);
}

// Out of sync from the first block, with nothing before it: the walker and
// its shadow table decode the same sequences exactly.
TEST(Hpack, WalkerDecodesAppendixC) {
  for (const auto* steps : {&kC3, &kC4, &kC5, &kC6}) {
    HpackDecoder d;
    d.LoseSync();
    RunSteps(d, *steps, steps == &kC5 || steps == &kC6, false);
  }
}

TEST(Hpack, JoinedAfterTheFirstRequest) {
  for (const auto* steps : {&kC3, &kC4}) {
    HpackDecoder d;  // out of sync: block 1 was never seen
    DecodedBlock b2;
    d.Decode(Hex((*steps)[1].wire), &b2);
    // :authority was an entry of block 1; cache-control is a new literal.
    EXPECT_EQ(Lines(b2.fields),
              ":method: GET\n:scheme: http\n:path: /\ncache-control: no-cache\n");
    EXPECT_TRUE(b2.partial);
    EXPECT_EQ(Table(d), "[1] cache-control: no-cache\n");
    DecodedBlock b3;
    d.Decode(Hex((*steps)[2].wire), &b3);
    EXPECT_EQ(Lines(b3.fields),
              ":method: GET\n:scheme: https\n:path: /index.html\ncustom-key: custom-value\n");
    EXPECT_TRUE(b3.partial);
    EXPECT_EQ(Table(d), "[1] custom-key: custom-value\n[2] cache-control: no-cache\n");
  }
}

TEST(Hpack, JoinedAfterTheFirstResponse) {
  HpackDecoder d;
  DecodedBlock b2;
  d.Decode(Hex(kC6[1].wire), &b2);
  // ":status: 307" is inserted; the three others were entries of response 1.
  EXPECT_EQ(Lines(b2.fields), ":status: 307\n");
  EXPECT_TRUE(b2.partial);
  DecodedBlock b3;
  d.Decode(Hex(kC6[2].wire), &b3);
  // cache-control (c1) and location (c0) are older than the join; date,
  // content-encoding and set-cookie are new; ":status: 200" is static.
  EXPECT_EQ(Lines(b3.fields),
            ":status: 200\ndate: Mon, 21 Oct 2013 20:13:22 GMT\ncontent-encoding: gzip\n"
            "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n");
  EXPECT_TRUE(b3.partial);
}

TEST(Hpack, ShadowEvictsWhatTheEncoderEvicted) {
  HpackDecoder d;
  DecodedBlock b;
  // Size update to 256, then response 1's fields as new literals: the
  // shadow holds them within 256 bytes like the encoder's table.
  d.Decode(Hex(kSizeUpdate256) + Hex(kC5[0].wire), &b);
  EXPECT_FALSE(b.partial);
  EXPECT_EQ(d.table_size(), 222u);
  DecodedBlock b2, b3;
  d.Decode(Hex(kC5[1].wire), &b2);
  d.Decode(Hex(kC5[2].wire), &b3);
  EXPECT_EQ(d.table_size(), 215u);
  EXPECT_EQ(Table(d), kRespTable3);
}

TEST(Hpack, NamesOlderThanTheJoinAreNeverMadeUp) {
  HpackDecoder d;
  DecodedBlock b;
  // Literal with incremental indexing whose name is dynamic entry 70 (an
  // unknown one), value "v1"; then a reference to what it inserted.
  d.Decode(Hex("7f07 0276 31") + Hex("be"), &b);
  EXPECT_TRUE(b.fields.empty());
  EXPECT_TRUE(b.partial);
  EXPECT_EQ(d.table_entries(), 1u);
  std::string name, value;
  EXPECT_FALSE(d.TableEntry(0, &name, &value));
  // A new entry in front of it is known again.
  DecodedBlock b2;
  d.Decode(Hex("4003 6b65 7903 7661 6c") + Hex("be"), &b2);
  EXPECT_EQ(Lines(b2.fields), "key: val\nkey: val\n");
  EXPECT_FALSE(b2.partial);
}

TEST(Hpack, InflaterFailureFallsBackToTheWalker) {
  HpackDecoder d;
  d.StartInSync();
  DecodedBlock b;
  // :method GET, then a reference to a dynamic entry that does not exist.
  d.Decode(Hex("82 c5 84"), &b);
  EXPECT_EQ(Lines(b.fields), ":method: GET\n:path: /\n");
  EXPECT_TRUE(b.partial);
  EXPECT_FALSE(d.in_sync());
}

TEST(Hpack, TruncatedBlockKeepsWhatPrecedesTheCut) {
  HpackDecoder d;
  d.StartInSync();
  DecodedBlock b1;
  d.Decode(Hex(kC3[0].wire), &b1);
  ASSERT_TRUE(d.in_sync());
  // Request 2 with its last bytes missing: what the table knew still
  // resolves (be = :authority from request 1).
  const std::string wire = Hex(kC3[1].wire);
  DecodedBlock b2;
  d.DecodeTruncated(std::string_view(wire).substr(0, wire.size() - 3), &b2);
  EXPECT_EQ(Lines(b2.fields), ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n");
  EXPECT_TRUE(b2.partial);
  EXPECT_FALSE(d.in_sync());
  EXPECT_EQ(d.table_entries(), 0u);  // what the lost bytes inserted is unknown
}

TEST(Hpack, TableSizeSettingIsOnlyRaised) {
  HpackDecoder d;
  d.StartInSync();
  d.OnTableSizeSetting(8192);
  d.OnTableSizeSetting(100);  // a smaller one never shrinks what the inflater accepts
  DecodedBlock b;
  d.Decode(Hex("3fe1 3f") + Hex(kC3[0].wire), &b);  // size update 8192
  EXPECT_FALSE(b.partial);
  EXPECT_TRUE(d.in_sync());
  // Over the setting: the inflater refuses, the walker takes over.
  DecodedBlock b2;
  d.Decode(Hex("3fe1 ff01") + Hex(kC3[1].wire), &b2);  // size update 16384
  EXPECT_FALSE(d.in_sync());
  EXPECT_TRUE(b2.partial);  // :authority from block 1 is no longer known
}

TEST(Hpack, FieldsKeptAreBounded) {
  HpackDecoder d;
  d.StartInSync();
  std::string block;
  for (int i = 0; i < 300; ++i) block += Hex("82");  // :method: GET, 300 times
  DecodedBlock b;
  d.Decode(block, &b);
  EXPECT_EQ(b.fields.size(), http2::kMaxFields);
  EXPECT_TRUE(b.partial);
  EXPECT_TRUE(d.in_sync());
  // Decoded bytes too: a large entry referenced many times.
  HpackDecoder d2;
  std::string big = Hex("40 01") + "k" + Hex("7f a1 1e") + std::string(4000, 'v');
  ASSERT_EQ(big.size(), 2 + 1 + 3 + 4000u);
  std::string refs;
  for (int i = 0; i < 100; ++i) refs += Hex("be");
  DecodedBlock b2;
  d2.Decode(big + refs, &b2);
  EXPECT_LE(b2.fields.size(), http2::kMaxDecodedBytes / 4000);
  EXPECT_TRUE(b2.partial);
}

TEST(Hpack, ShadowStaysWithinTheLargestTable) {
  HpackDecoder d;
  // 200 new 1000-byte entries: the shadow keeps what fits in kMaxTableSize.
  for (int i = 0; i < 200; ++i) {
    std::string block = Hex("40 04") + "n" + std::to_string(1000 + i).substr(1) +
                        Hex("7f e9 06") + std::string(1000, 'a');
    DecodedBlock b;
    d.Decode(block, &b);
    ASSERT_FALSE(b.partial) << i;
  }
  EXPECT_LE(d.table_size(), http2::kMaxTableSize);
  EXPECT_GT(d.table_size(), http2::kMaxTableSize - 1100);
  EXPECT_LT(d.footprint(), 2 * http2::kMaxTableSize);
}

TEST(Hpack, MalformedBlocksAreSafe) {
  const std::vector<std::string> bad = {
      Hex("80"),              // index 0
      Hex("7f"),              // cut integer
      Hex("4005 6162"),       // literal name cut short
      Hex("00 85ffffffffff"), // invalid Huffman (EOS)
      Hex("00 03616263 ff"),  // value length cut
  };
  for (const std::string& block : bad) {
    for (bool sync : {true, false}) {
      HpackDecoder d;
      if (sync) d.StartInSync();
      DecodedBlock b;
      d.Decode(block, &b);
      EXPECT_TRUE(b.partial);
      DecodedBlock b2;  // and it goes on
      d.Decode(Hex(kC3[0].wire), &b2);
      EXPECT_EQ(Lines(b2.fields), kReq1);
    }
  }
}

TEST(Hpack, ClassifyLooksAtNamesOnly) {
  using http2::BlockKind;
  EXPECT_EQ(HpackDecoder::Classify(Hex(kC3[0].wire)), BlockKind::kRequest);
  EXPECT_EQ(HpackDecoder::Classify(Hex(kC6[0].wire)), BlockKind::kResponse);
  EXPECT_EQ(HpackDecoder::Classify(Hex("be bf")), BlockKind::kUnknown);  // dynamic only
  EXPECT_EQ(HpackDecoder::Classify(Hex("0007 3a73 7461 7475 7303 3230 30")),
            BlockKind::kResponse);  // ":status" as a literal name
  EXPECT_EQ(HpackDecoder::Classify(""), BlockKind::kUnknown);
}

}  // namespace
}  // namespace sonde::test
