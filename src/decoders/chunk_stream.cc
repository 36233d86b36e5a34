#include "decoders/chunk_stream.h"

#include <algorithm>
#include <limits>

namespace sonde {

void ChunkStream::OnChunk(const DataChunk& chunk) {
  if (Stopped()) return;
  const uint64_t captured = chunk.data.size();
  const uint64_t len = std::max<uint64_t>(chunk.total_len, captured);
  if (len == 0 || chunk.pos > std::numeric_limits<uint64_t>::max() - len) return;
  uint64_t pos = chunk.pos;
  if (!started_) {
    // The first chunk seen defines the origin; whoever knows better (the
    // tracker, when it saw the connection open) accounts for earlier loss.
    started_ = true;
    first_pos_ = pos;
    next_pos_ = pos;
    buf_pos_ = pos;
  }
  const uint64_t end = pos + len;
  if (end <= next_pos_) return;  // a repeat of bytes already seen
  std::string_view data = chunk.data;
  ChunkMeta meta{pos, chunk.ts_ns, chunk.tid};
  bool syscall_start = true;
  if (pos < next_pos_) {
    data.remove_prefix(static_cast<size_t>(std::min(next_pos_ - pos, captured)));
    pos = next_pos_;
    syscall_start = false;
  } else if (pos > next_pos_) {
    ++counters_->gaps;
    Skip(pos - next_pos_, meta, true);
    next_pos_ = pos;
  }
  BeforeFeed(data, syscall_start, chunk);
  if (!data.empty()) {
    meta.pos = pos;
    Feed(data, meta);
  }
  Skip(end - pos - data.size(), meta, false);
  next_pos_ = end;
  buf_pos_ = next_pos_ - buf_.size();
  if (buf_.empty()) num_metas_ = 0;
  AfterChunk();
}

void ChunkStream::Feed(std::string_view data, const ChunkMeta& meta) {
  RememberMeta(meta);
  while (!data.empty() && !Stopped()) {
    if (buf_.empty()) {
      // Common case: parse straight from the chunk, copy only an incomplete tail.
      buf_pos_ = next_pos_;
      size_t used = std::min(Run(data, next_pos_, meta), data.size());
      next_pos_ += data.size();
      buf_.assign(data.substr(used));
      buf_pos_ = next_pos_ - buf_.size();
      data = {};
    } else {
      std::string_view piece = data.substr(0, max_buffer_ - std::min(max_buffer_, buf_.size()));
      buf_.append(piece);
      data.remove_prefix(piece.size());
      next_pos_ += piece.size();
      size_t used = std::min(Run(buf_, buf_pos_, meta), buf_.size());
      buf_.erase(0, used);
      buf_pos_ += used;
    }
    if (buf_.size() >= max_buffer_) {
      // Unreachable while the protocol decides within its bound; the bound of last resort.
      counters_->bytes_skipped += buf_.size();
      buf_.clear();
      OnBufferOverflow(meta);
    }
    // Drop metadata for bytes already consumed, keeping the entry covering buf_pos_.
    size_t first = 0;
    while (first + 1 < num_metas_ && metas_[first + 1].pos <= buf_pos_) ++first;
    if (first > 0) {
      std::copy(metas_ + first, metas_ + num_metas_, metas_);
      num_metas_ -= first;
    }
  }
  if (Stopped()) buf_.clear();
  if (buf_.empty() && buf_.capacity() > 4096) std::string().swap(buf_);
}

void ChunkStream::RememberMeta(const ChunkMeta& meta) {
  if (num_metas_ == kMaxMetas) {
    metas_[kMaxMetas - 1] = meta;
  } else {
    metas_[num_metas_++] = meta;
  }
}

ChunkStream::ChunkMeta ChunkStream::MetaAt(uint64_t pos) const {
  ChunkMeta m = num_metas_ > 0 ? metas_[0] : ChunkMeta{};
  for (size_t i = 1; i < num_metas_ && metas_[i].pos <= pos; ++i) m = metas_[i];
  return m;
}

}  // namespace sonde
