#include "decoders/http2/hpack.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>

namespace sonde::http2 {

namespace {

constexpr size_t kEntryOverhead = 32;  // RFC 7541 section 4.1

// RFC 7541 Appendix A.
constexpr std::array<std::pair<std::string_view, std::string_view>, kStaticEntries> kStatic = {{
    {":authority", ""},
    {":method", "GET"},
    {":method", "POST"},
    {":path", "/"},
    {":path", "/index.html"},
    {":scheme", "http"},
    {":scheme", "https"},
    {":status", "200"},
    {":status", "204"},
    {":status", "206"},
    {":status", "304"},
    {":status", "400"},
    {":status", "404"},
    {":status", "500"},
    {"accept-charset", ""},
    {"accept-encoding", "gzip, deflate"},
    {"accept-language", ""},
    {"accept-ranges", ""},
    {"accept", ""},
    {"access-control-allow-origin", ""},
    {"age", ""},
    {"allow", ""},
    {"authorization", ""},
    {"cache-control", ""},
    {"content-disposition", ""},
    {"content-encoding", ""},
    {"content-language", ""},
    {"content-length", ""},
    {"content-location", ""},
    {"content-range", ""},
    {"content-type", ""},
    {"cookie", ""},
    {"date", ""},
    {"etag", ""},
    {"expect", ""},
    {"expires", ""},
    {"from", ""},
    {"host", ""},
    {"if-match", ""},
    {"if-modified-since", ""},
    {"if-none-match", ""},
    {"if-range", ""},
    {"if-unmodified-since", ""},
    {"last-modified", ""},
    {"link", ""},
    {"location", ""},
    {"max-forwards", ""},
    {"proxy-authenticate", ""},
    {"proxy-authorization", ""},
    {"range", ""},
    {"referer", ""},
    {"refresh", ""},
    {"retry-after", ""},
    {"server", ""},
    {"set-cookie", ""},
    {"strict-transport-security", ""},
    {"transfer-encoding", ""},
    {"user-agent", ""},
    {"vary", ""},
    {"via", ""},
    {"www-authenticate", ""},
}};

// One step of nghttp2's inflater over a whole block (in_final set).
long long InflateStep(nghttp2_hd_inflater* inf, nghttp2_nv* nv, int* flags, const uint8_t* in,
                      size_t len) {
#if NGHTTP2_VERSION_NUM >= 0x013d00
  return nghttp2_hd_inflate_hd3(inf, nv, flags, in, len, 1);
#else
  return nghttp2_hd_inflate_hd2(inf, nv, flags, in, len, 1);
#endif
}

nghttp2_hd_inflater* NewInflater() {
  nghttp2_hd_inflater* inf = nullptr;
  if (nghttp2_hd_inflate_new(&inf) != 0) return nullptr;
  return inf;
}

void FreeInflater(nghttp2_hd_inflater** inf) {
  if (*inf != nullptr) nghttp2_hd_inflate_del(*inf);
  *inf = nullptr;
}

size_t EntrySize(std::string_view name, std::string_view value) {
  return name.size() + value.size() + kEntryOverhead;
}

// A string literal's bytes (length prefix included); false when cut short.
bool SkipString(std::string_view* in, std::string_view* raw, bool* huffman) {
  if (in->empty()) return false;
  *huffman = (static_cast<uint8_t>((*in)[0]) & 0x80) != 0;
  std::string_view start = *in;
  uint64_t len = 0;
  if (!ReadHpackInt(in, 7, &len) || len > in->size()) return false;
  const size_t prefix = start.size() - in->size();
  *raw = start.substr(0, prefix + len);
  in->remove_prefix(len);
  return true;
}

BlockKind KindOfName(std::string_view name) {
  if (name == ":status") return BlockKind::kResponse;
  if (name == ":method" || name == ":path" || name == ":scheme" || name == ":authority" ||
      name == ":protocol") {
    return BlockKind::kRequest;
  }
  return BlockKind::kUnknown;
}

}  // namespace

bool ReadHpackInt(std::string_view* in, int prefix_bits, uint64_t* out) {
  if (in->empty()) return false;
  const uint64_t max_prefix = (uint64_t{1} << prefix_bits) - 1;
  uint64_t v = static_cast<uint8_t>((*in)[0]) & max_prefix;
  size_t i = 1;
  if (v == max_prefix) {
    int shift = 0;
    for (;;) {
      if (i >= in->size() || shift > 28) return false;
      const uint8_t b = static_cast<uint8_t>((*in)[i++]);
      v += uint64_t{b & 0x7fu} << shift;
      shift += 7;
      if ((b & 0x80) == 0) break;
    }
    if (v > 0xffffffffu) return false;
  }
  in->remove_prefix(i);
  *out = v;
  return true;
}

std::pair<std::string_view, std::string_view> StaticEntry(uint64_t index) {
  if (index == 0 || index > kStaticEntries) return {};
  return kStatic[index - 1];
}

HpackDecoder::HpackDecoder() = default;

HpackDecoder::~HpackDecoder() {
  FreeInflater(&inflater_);
  FreeInflater(&scratch_);
}

void HpackDecoder::StartInSync() {
  FreeInflater(&inflater_);
  inflater_ = NewInflater();
  if (inflater_ != nullptr && setting_ != kDefaultTableSize) {
    nghttp2_hd_inflate_change_table_size(inflater_, setting_);
  }
  shadow_.clear();
  shadow_bytes_ = 0;
  if (inflater_ == nullptr) LoseSync();
}

void HpackDecoder::LoseSync() {
  FreeInflater(&inflater_);
  shadow_.clear();
  shadow_bytes_ = 0;
  // The encoder may be using any size it was allowed; what it really uses
  // shows at its next size update.
  shadow_max_ = kMaxTableSize;
}

void HpackDecoder::OnTableSizeSetting(uint32_t size) {
  size = std::min(size, kMaxTableSize);
  if (size <= setting_) return;
  setting_ = size;
  // Only raised, and only between blocks (blocks are decoded whole).
  if (inflater_ != nullptr) nghttp2_hd_inflate_change_table_size(inflater_, setting_);
}

void HpackDecoder::Keep(std::string_view name, std::string_view value, DecodedBlock* out,
                        size_t* decoded) {
  const size_t n = name.size() + value.size();
  if (out->fields.size() >= kMaxFields || n > kMaxDecodedBytes - *decoded) {
    out->partial = true;
    return;
  }
  *decoded += n;
  out->fields.emplace_back(name, value);
}

void HpackDecoder::Decode(std::string_view block, DecodedBlock* out) {
  if (in_sync()) {
    DecodeInSync(block, out);
    return;
  }
  if (!Walk(block, out)) {
    out->partial = true;
    LoseSync();
  }
}

void HpackDecoder::DecodeInSync(std::string_view block, DecodedBlock* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(block.data());
  size_t left = block.size();
  size_t decoded = 0;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const long long rv = InflateStep(inflater_, &nv, &flags, p, left);
    if (rv < 0) break;
    p += rv;
    left -= static_cast<size_t>(rv);
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
      Keep(std::string_view(reinterpret_cast<const char*>(nv.name), nv.namelen),
           std::string_view(reinterpret_cast<const char*>(nv.value), nv.valuelen), out, &decoded);
    }
    if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
      nghttp2_hd_inflate_end_headers(inflater_);
      return;
    }
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && rv == 0) break;  // no progress
  }
  // The inflater disagrees with the encoder (a reference past its table, bad
  // Huffman, a size update over the limit): its table can no longer be
  // trusted. Walk the block tolerantly instead, from an empty shadow.
  out->fields.clear();
  out->partial = false;
  LoseSync();
  if (!Walk(block, out)) {
    out->partial = true;
    LoseSync();
  }
}

void HpackDecoder::DecodeTruncated(std::string_view prefix, DecodedBlock* out) {
  if (in_sync()) {
    // The table is right up to this block: walk its prefix with a copy.
    shadow_.clear();
    shadow_bytes_ = 0;
    const size_t n = nghttp2_hd_inflate_get_num_table_entries(inflater_);
    for (size_t i = kStaticEntries + 1; i <= n; ++i) {
      const nghttp2_nv* nv = nghttp2_hd_inflate_get_table_entry(inflater_, i);
      if (nv == nullptr) break;
      ShadowEntry e;
      e.name.assign(reinterpret_cast<const char*>(nv->name), nv->namelen);
      e.value.assign(reinterpret_cast<const char*>(nv->value), nv->valuelen);
      shadow_bytes_ += EntrySize(e.name, e.value);
      shadow_.push_back(std::move(e));
    }
    shadow_max_ = static_cast<uint32_t>(
        std::min<size_t>(nghttp2_hd_inflate_get_max_dynamic_table_size(inflater_), kMaxTableSize));
    FreeInflater(&inflater_);
  }
  Walk(prefix, out);
  out->partial = true;
  LoseSync();
}

bool HpackDecoder::Lookup(uint64_t index, Field* f) const {
  if (index == 0) return false;
  if (index <= kStaticEntries) {
    f->name = kStatic[index - 1].first;
    f->value = kStatic[index - 1].second;
    f->known = true;
    return true;
  }
  const uint64_t d = index - kStaticEntries - 1;
  if (d >= shadow_.size()) return false;
  const ShadowEntry& e = shadow_[d];
  f->name = e.name;
  f->value = e.value;
  f->known = e.name_known;
  return true;
}

bool HpackDecoder::DecodeString(std::string_view* in, std::string* out, bool* ok) {
  std::string_view raw;
  bool huffman = false;
  if (!SkipString(in, &raw, &huffman)) return false;
  if (!huffman) {
    std::string_view body = raw;
    uint64_t len = 0;
    ReadHpackInt(&body, 7, &len);
    out->assign(body);
    return true;
  }
  // One "literal field without indexing, new name" block with this string
  // as its value: the scratch inflater undoes the Huffman coding and its
  // table stays empty.
  if (scratch_ == nullptr) scratch_ = NewInflater();
  if (scratch_ == nullptr) {
    *ok = false;
    return true;
  }
  scratch_in_.assign("\x00\x01x", 3);
  scratch_in_.append(raw);
  nghttp2_nv nv;
  int flags = 0;
  const long long rv = InflateStep(scratch_, &nv, &flags,
                                   reinterpret_cast<const uint8_t*>(scratch_in_.data()),
                                   scratch_in_.size());
  if (rv < 0 || (flags & NGHTTP2_HD_INFLATE_EMIT) == 0) {
    FreeInflater(&scratch_);  // a failed inflater stays failed
    *ok = false;
    return true;
  }
  out->assign(reinterpret_cast<const char*>(nv.value), nv.valuelen);
  // Let it see the end of the block so it is ready for the next one.
  const long long used = rv;
  for (int guard = 0; guard < 4 && (flags & NGHTTP2_HD_INFLATE_FINAL) == 0; ++guard) {
    flags = 0;
    if (InflateStep(scratch_, &nv, &flags,
                    reinterpret_cast<const uint8_t*>(scratch_in_.data()) + used,
                    scratch_in_.size() - static_cast<size_t>(used)) < 0) {
      FreeInflater(&scratch_);
      return true;
    }
  }
  nghttp2_hd_inflate_end_headers(scratch_);
  return true;
}

bool HpackDecoder::ReadName(std::string_view* in, uint64_t index, Field* f) {
  if (index != 0) {
    if (!Lookup(index, f)) f->known = false;
    return true;
  }
  bool ok = true;
  if (!DecodeString(in, &f->name, &ok)) return false;
  f->known = ok;
  if (!ok) f->name.clear();
  return true;
}

bool HpackDecoder::Walk(std::string_view in, DecodedBlock* out) {
  size_t decoded = 0;
  while (!in.empty()) {
    const uint8_t b = static_cast<uint8_t>(in[0]);
    if ((b & 0x80) != 0) {  // indexed field
      uint64_t index = 0;
      if (!ReadHpackInt(&in, 7, &index) || index == 0) return false;
      Field f;
      if (Lookup(index, &f) && f.known) {
        Keep(f.name, f.value, out, &decoded);
      } else {
        out->partial = true;
      }
      continue;
    }
    if ((b & 0xe0) == 0x20) {  // dynamic table size update
      uint64_t size = 0;
      if (!ReadHpackInt(&in, 5, &size)) return false;
      shadow_max_ = static_cast<uint32_t>(std::min<uint64_t>(size, kMaxTableSize));
      ShrinkShadow();
      continue;
    }
    // Literal: with incremental indexing (01), without indexing (0000) or
    // never indexed (0001).
    const bool indexing = (b & 0xc0) == 0x40;
    uint64_t index = 0;
    if (!ReadHpackInt(&in, indexing ? 6 : 4, &index)) return false;
    Field f;
    if (!ReadName(&in, index, &f)) return false;
    bool value_ok = true;
    f.value.clear();
    if (!DecodeString(&in, &f.value, &value_ok)) return false;
    if (!value_ok) {
      f.known = false;
      f.value.clear();
    }
    if (f.known) {
      Keep(f.name, f.value, out, &decoded);
    } else {
      out->partial = true;
    }
    if (indexing) Insert(std::move(f));
  }
  return true;
}

void HpackDecoder::Insert(Field&& f) {
  if (!f.known) f.name.clear();
  const size_t size = EntrySize(f.name, f.value);
  if (size > shadow_max_) {
    // Too large for the table: the encoder's table is now empty (RFC 7541
    // section 4.4), unseen entries included.
    shadow_.clear();
    shadow_bytes_ = 0;
    return;
  }
  ShadowEntry e;
  e.name = std::move(f.name);
  e.value = std::move(f.value);
  e.name_known = f.known;
  shadow_.push_front(std::move(e));
  shadow_bytes_ += size;
  ShrinkShadow();
}

void HpackDecoder::ShrinkShadow() {
  while (shadow_bytes_ > shadow_max_ && !shadow_.empty()) {
    shadow_bytes_ -= EntrySize(shadow_.back().name, shadow_.back().value);
    shadow_.pop_back();
  }
}

size_t HpackDecoder::table_size() const {
  if (in_sync()) return nghttp2_hd_inflate_get_dynamic_table_size(inflater_);
  return shadow_bytes_;
}

size_t HpackDecoder::table_entries() const {
  if (in_sync()) return nghttp2_hd_inflate_get_num_table_entries(inflater_) - kStaticEntries;
  return shadow_.size();
}

bool HpackDecoder::TableEntry(size_t i, std::string* name, std::string* value) const {
  if (in_sync()) {
    const nghttp2_nv* nv = nghttp2_hd_inflate_get_table_entry(inflater_, kStaticEntries + 1 + i);
    if (nv == nullptr) return false;
    name->assign(reinterpret_cast<const char*>(nv->name), nv->namelen);
    value->assign(reinterpret_cast<const char*>(nv->value), nv->valuelen);
    return true;
  }
  if (i >= shadow_.size() || !shadow_[i].name_known) return false;
  *name = shadow_[i].name;
  *value = shadow_[i].value;
  return true;
}

size_t HpackDecoder::footprint() const {
  size_t n = scratch_in_.capacity();
  if (inflater_ != nullptr) {
    // The table's RFC size plus nghttp2's per-entry bookkeeping.
    n += nghttp2_hd_inflate_get_dynamic_table_size(inflater_) + 1024;
  }
  if (scratch_ != nullptr) n += 1024;
  n += shadow_bytes_ + shadow_.size() * sizeof(ShadowEntry);
  return n;
}

BlockKind HpackDecoder::Classify(std::string_view in, bool* well_formed) {
  // The most entries a kMaxTableSize table holds, after the static ones.
  constexpr uint64_t kMaxIndex = kStaticEntries + kMaxTableSize / kEntryOverhead;
  BlockKind kind = BlockKind::kUnknown;
  bool ok = true;
  while (!in.empty()) {
    const uint8_t b = static_cast<uint8_t>(in[0]);
    std::string_view name;
    uint64_t index = 0;
    if ((b & 0x80) != 0) {
      if (!ReadHpackInt(&in, 7, &index) || index == 0 || index > kMaxIndex) {
        ok = false;
        break;
      }
      name = StaticEntry(index).first;
    } else if ((b & 0xe0) == 0x20) {
      if (!ReadHpackInt(&in, 5, &index) || index > kMaxTableSize) {
        ok = false;
        break;
      }
      continue;
    } else {
      std::string_view raw, value;
      bool huffman = false;
      if (!ReadHpackInt(&in, (b & 0xc0) == 0x40 ? 6 : 4, &index) || index > kMaxIndex) {
        ok = false;
        break;
      }
      if (index == 0) {
        if (!SkipString(&in, &raw, &huffman)) {
          ok = false;
          break;
        }
        if (!huffman) {
          uint64_t len = 0;
          ReadHpackInt(&raw, 7, &len);
          name = raw;
        }
      } else {
        name = StaticEntry(index).first;
      }
      if (!SkipString(&in, &value, &huffman)) {
        ok = false;
        break;
      }
    }
    if (kind == BlockKind::kUnknown) kind = KindOfName(name);
    if (kind != BlockKind::kUnknown && well_formed == nullptr) break;
  }
  if (well_formed != nullptr) *well_formed = ok;
  return kind;
}

}  // namespace sonde::http2
