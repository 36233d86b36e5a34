// HPACK (RFC 7541) for one direction of a connection, as an observer that
// may have missed the start.
//
// In sync (the direction was seen from its first byte): header blocks go
// through nghttp2's inflater, which owns the dynamic table.
//
// Out of sync (the connection was joined mid-stream, a gap or an uncaptured
// tail swallowed header bytes, a block was cut short, or the inflater
// failed): the encoder's dynamic table holds entries nobody here saw. Blocks
// are then walked field by field, tolerantly:
//  - static-table references and literals are decodable (a literal's
//    Huffman coding is undone by handing a one-field block, "literal
//    without indexing" so it touches no table, to a scratch nghttp2
//    inflater);
//  - every entry inserted since sync was lost is shadow-tracked. Insertions
//    go to the front of the dynamic table, so the k entries inserted since
//    then are exactly dynamic indices 0..k-1 for as long as the encoder may
//    reference them, however many unknown entries sit behind them. An entry
//    the encoder evicted is never referenced again, so keeping too many is
//    harmless; entries are dropped once their own sizes (and those of newer
//    entries) exceed the largest table size the encoder may be using
//    (kMaxTableSize until one of its dynamic table size updates says), which
//    keeps the shadow bounded;
//  - a reference past the shadow (an entry older than the loss) is unknown:
//    that field is left out and the block is reported partial. A literal
//    whose name is such a reference is left out too (never a made-up name),
//    and if it was inserted its shadow entry keeps only the value (a later
//    reference to it is unknown as well).
// A block that cannot be walked to its end (cut short, malformed) is
// decoded as far as it goes; the shadow is then emptied, since the rest may
// have inserted entries.
//
// Table sizes: SETTINGS_HEADER_TABLE_SIZE from the receiving side only ever
// raises the limit the inflater enforces (a larger decoder table decodes a
// valid stream exactly; a smaller one would fail on a size update sent
// before the peer's SETTINGS arrived), up to kMaxTableSize.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

#include "decoders/message.h"

struct nghttp2_hd_inflater;

namespace sonde::http2 {

inline constexpr uint32_t kDefaultTableSize = 4096;  // SETTINGS_HEADER_TABLE_SIZE initial value
// The most dynamic table this decoder keeps per direction, whatever SETTINGS say.
inline constexpr uint32_t kMaxTableSize = 64 * 1024;
// Fields and decoded bytes kept per header block; the rest is left out
// (the block reported partial) but still goes through the table.
inline constexpr size_t kMaxFields = 256;
inline constexpr size_t kMaxDecodedBytes = 64 * 1024;

struct DecodedBlock {
  HeaderList fields;     // wire order, pseudo-header fields included
  bool partial = false;  // some field could not be decoded or was not kept
};

// What a header block's pseudo-header fields say, from names alone.
enum class BlockKind : uint8_t { kUnknown, kRequest, kResponse };

class HpackDecoder {
 public:
  HpackDecoder();
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;

  // The direction is seen from its start: use a fresh inflater.
  void StartInSync();
  // Entries may have been inserted unseen: walk from now on, shadow emptied.
  void LoseSync();
  bool in_sync() const { return inflater_ != nullptr; }

  // SETTINGS_HEADER_TABLE_SIZE sent by the side that decodes this direction.
  void OnTableSizeSetting(uint32_t size);

  // A whole header block (fragments joined).
  void Decode(std::string_view block, DecodedBlock* out);
  // The first bytes of a block whose rest was lost: decodes what it can,
  // then loses sync (the lost part may have changed the table).
  void DecodeTruncated(std::string_view prefix, DecodedBlock* out);

  // Dynamic table as this decoder sees it (RFC 7541 section 4.1 sizes):
  // the inflater's in sync, the shadow's otherwise (unknown names count
  // their value only).
  size_t table_size() const;
  size_t table_entries() const;
  // Dynamic entry `i` (0 = newest); false when unknown or past the end.
  bool TableEntry(size_t i, std::string* name, std::string* value) const;
  // Heap held, for buffered_bytes().
  size_t footprint() const;

  // Names-only look at a block (no table needed): request pseudo-header
  // fields, :status, or neither among the fields it can name.
  // `well_formed` (optional): every representation parses, within the
  // block, with indices a table could hold.
  static BlockKind Classify(std::string_view block, bool* well_formed = nullptr);

 private:
  struct ShadowEntry {
    std::string name;
    std::string value;
    bool name_known = true;
  };
  // One field being walked.
  struct Field {
    std::string name, value;
    bool known = true;
  };

  void DecodeInSync(std::string_view block, DecodedBlock* out);
  // Returns false when the block could not be walked to its end.
  bool Walk(std::string_view block, DecodedBlock* out);
  bool ReadName(std::string_view* in, uint64_t index, Field* f);
  bool Lookup(uint64_t index, Field* f) const;
  bool DecodeString(std::string_view* in, std::string* out, bool* ok);
  void Insert(Field&& f);
  void ShrinkShadow();
  static void Keep(std::string_view name, std::string_view value, DecodedBlock* out,
                   size_t* decoded);

  nghttp2_hd_inflater* inflater_ = nullptr;  // in sync
  nghttp2_hd_inflater* scratch_ = nullptr;   // out of sync: Huffman decoding only
  uint32_t setting_ = kDefaultTableSize;     // largest SETTINGS_HEADER_TABLE_SIZE seen (capped)
  // Out of sync: the newest entries, front = dynamic index 0.
  std::deque<ShadowEntry> shadow_;
  size_t shadow_bytes_ = 0;   // RFC sizes, unknown names counted as empty
  uint32_t shadow_max_ = kMaxTableSize;  // largest table size the encoder may use
  std::string scratch_in_;
};

// RFC 7541 section 5.1 integer with an N-bit prefix; consumes it. False on
// truncation or overflow (values above 2^32 are refused).
bool ReadHpackInt(std::string_view* in, int prefix_bits, uint64_t* out);

// Static table (RFC 7541 Appendix A), 1-based; null name past the end.
std::pair<std::string_view, std::string_view> StaticEntry(uint64_t index);
inline constexpr uint64_t kStaticEntries = 61;

}  // namespace sonde::http2
