// A fixed-capacity, lock-free multi-producer queue (D. Vyukov's bounded MPMC
// design), used as the hand-off from the hot thread to the exporter thread.
//
// Why lock-free: the hot thread drains the BPF ring buffer; if it waited on a
// mutex held by the exporter thread, the kernel would start dropping events.
// TryPush and TryPop never wait: a full or empty queue is reported at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace sonde {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity)
      : capacity_(capacity == 0 ? 1 : capacity), cells_(new Cell[capacity_]) {
    for (size_t i = 0; i < capacity_; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  ~BoundedQueue() {
    while (TryPop()) {
    }
  }

  size_t capacity() const { return capacity_; }

  // Moves `v` in and returns true, or leaves it untouched and returns false
  // when the queue is full.
  bool TryPush(T&& v) {
    size_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells_[pos % capacity_];
      size_t seq = c.seq.load(std::memory_order_acquire);
      auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          new (c.storage) T(std::move(v));
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the cell still holds an item from one lap ago: full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  std::optional<T> TryPop() {
    size_t pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells_[pos % capacity_];
      size_t seq = c.seq.load(std::memory_order_acquire);
      auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T* p = std::launder(reinterpret_cast<T*>(c.storage));
          std::optional<T> out(std::move(*p));
          p->~T();
          c.seq.store(pos + capacity_, std::memory_order_release);
          return out;
        }
      } else if (diff < 0) {
        return std::nullopt;  // empty (or the next item is still being written)
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // Approximate while other threads push or pop; exact when they are idle.
  size_t SizeApprox() const {
    size_t tail = tail_.load(std::memory_order_relaxed);
    size_t head = head_.load(std::memory_order_relaxed);
    return tail > head ? tail - head : 0;
  }

 private:
  struct Cell {
    std::atomic<size_t> seq;
    alignas(T) unsigned char storage[sizeof(T)];
  };

  const size_t capacity_;
  std::unique_ptr<Cell[]> cells_;
  // Separate cache lines so producers and the consumer do not false-share.
  alignas(64) std::atomic<size_t> tail_{0};
  alignas(64) std::atomic<size_t> head_{0};
};

}  // namespace sonde
