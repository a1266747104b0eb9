#pragma once
// Disjoint sets over dense ids, for the generators' connectivity checks.
#include <cstdint>
#include <numeric>
#include <vector>

namespace fabricctl::gen {

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  uint32_t Find(uint32_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  // False when a and b were already joined.
  bool Join(uint32_t a, uint32_t b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return false;
    parent_[b] = a;
    return true;
  }

 private:
  std::vector<uint32_t> parent_;
};

}  // namespace fabricctl::gen
