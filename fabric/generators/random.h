#pragma once
// Seeded randomness for the generators. std::mt19937_64's output is fixed by the standard,
// but std::shuffle and the std distributions are not, so the shuffle is written out here:
// the same seed gives the same fabric with any standard library.
#include <cstdint>
#include <random>
#include <span>
#include <utility>

namespace fabricctl::gen {

// An independent stream per (seed, purpose), so one choice does not shift another: the
// cables `fail_links=12` picks stay the same whether or not `slow_links` is given.
inline std::mt19937_64 SeededStream(uint64_t seed, uint64_t purpose) {
  // splitmix64 of both, so nearby seeds give unrelated streams.
  uint64_t z = seed * 0x9e3779b97f4a7c15ULL + purpose + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return std::mt19937_64(z ^ (z >> 31));
}

// A value in [0, n), n > 0. The modulo bias is below 2^-40 for any fabric size.
inline uint64_t Below(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

// Fisher-Yates.
template <typename T>
void Shuffle(std::span<T> items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[Below(rng, i)]);
}

}  // namespace fabricctl::gen
