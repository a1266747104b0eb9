#pragma once

// A monotone priority queue for Dijkstra searches with integer distances (a radix heap:
// Ahuja, Mehlhorn, Orlin and Tarjan, 1990). Keys pushed must not be below the last key
// popped. Entries are (key, value) and leave in (key, value) order, so a search that used
// a binary heap of such pairs settles in exactly the same order, at a fraction of the
// cost: a push is a bucket append, and an entry moves down at most 64 buckets in all.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

namespace fabricctl {

class RadixHeap {
 public:
  using Entry = std::pair<uint64_t, uint32_t>;  // key, value

  bool empty() const { return size_ == 0; }

  void clear() {
    buckets_[0].clear();
    for (uint64_t rest = filled_; rest != 0; rest &= rest - 1) buckets_[std::countr_zero(rest) + 1].clear();
    filled_ = 0;
    size_ = 0;
    last_ = 0;
  }

  void push(uint64_t key, uint32_t value) {
    const size_t b = Bucket(key);
    if (b == 0)  // keep bucket 0 in descending value order
      buckets_[0].insert(
          std::upper_bound(buckets_[0].begin(), buckets_[0].end(), Entry{key, value}, std::greater<Entry>()),
          {key, value});
    else
      Append(b, {key, value});
    ++size_;
  }

  // The least entry (by key, then value); the heap must not be empty.
  Entry pop() {
    if (buckets_[0].empty()) Refill();
    const Entry e = buckets_[0].back();
    buckets_[0].pop_back();
    --size_;
    return e;
  }

 private:
  // Bucket 0 holds keys equal to last_; bucket i > 0 those whose highest bit differing
  // from last_ is bit i - 1.
  size_t Bucket(uint64_t key) const { return key == last_ ? 0 : size_t(64 - std::countl_zero(key ^ last_)); }

  void Append(size_t b, const Entry& e) {
    buckets_[b].push_back(e);
    filled_ |= uint64_t{1} << (b - 1);
  }

  // Moves the least non-empty bucket's entries down around its least key; those equal to
  // it land in bucket 0, kept in descending value order so pop() takes the least value.
  void Refill() {
    const size_t i = size_t(std::countr_zero(filled_)) + 1;
    std::vector<Entry>& from = buckets_[i];
    filled_ &= filled_ - 1;
    uint64_t least = UINT64_MAX;
    for (const Entry& e : from) least = std::min(least, e.first);
    last_ = least;
    for (const Entry& e : from) {
      const size_t b = Bucket(e.first);
      if (b == 0)
        buckets_[0].push_back(e);
      else
        Append(b, e);
    }
    from.clear();
    if (buckets_[0].size() > 1) std::sort(buckets_[0].begin(), buckets_[0].end(), std::greater<Entry>());
  }

  std::array<std::vector<Entry>, 65> buckets_;
  uint64_t filled_ = 0;  // bit i - 1 set: bucket i > 0 holds entries
  size_t size_ = 0;
  uint64_t last_ = 0;
};

}  // namespace fabricctl
