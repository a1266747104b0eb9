#include "routing/radix_heap.h"

#include <doctest/doctest.h>

#include <functional>
#include <queue>
#include <random>
#include <vector>

namespace fabricctl {
namespace {

TEST_CASE("radix heap: a Dijkstra-like sequence leaves in (key, value) order, like a binary heap") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    RadixHeap heap;
    std::priority_queue<RadixHeap::Entry, std::vector<RadixHeap::Entry>, std::greater<>> reference;
    uint64_t last = 0;
    uint32_t next_value = 0;
    auto push = [&](uint64_t key) {
      // Values are unique, as the groups of a search are; equal keys are common.
      const uint32_t value = (next_value++ * 7919u) % 100003u;
      heap.push(key, value);
      reference.push({key, value});
    };
    for (int i = 0; i < 5; ++i) push(rng() % 50);
    size_t popped = 0;
    while (!reference.empty()) {
      REQUIRE_FALSE(heap.empty());
      const RadixHeap::Entry expected = reference.top();
      reference.pop();
      const RadixHeap::Entry got = heap.pop();
      CHECK(got == expected);
      CHECK(got.first >= last);
      last = got.first;
      ++popped;
      // New keys at or above the last popped one: some equal to it, some far above.
      if (popped < 2000)
        for (int k = int(rng() % 4); k > 0; --k)
          push(last + (rng() % 3 == 0 ? 0 : rng() % (uint64_t{1} << (rng() % 40))));
    }
    CHECK(heap.empty());
  }
}

TEST_CASE("radix heap: clear() empties it and starts again from key 0") {
  RadixHeap heap;
  heap.push(100, 1);
  heap.push(200, 2);
  CHECK(heap.pop() == RadixHeap::Entry{100, 1});
  heap.clear();
  CHECK(heap.empty());
  heap.push(5, 9);
  heap.push(5, 3);
  heap.push(1, 4);
  CHECK(heap.pop() == RadixHeap::Entry{1, 4});
  CHECK(heap.pop() == RadixHeap::Entry{5, 3});
  CHECK(heap.pop() == RadixHeap::Entry{5, 9});
  CHECK(heap.empty());
}

}  // namespace
}  // namespace fabricctl
