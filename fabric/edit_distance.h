#pragma once
// How far apart two words are, for "did you mean" suggestions on unknown names (engines,
// generator parameters, counter names).
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fabricctl {

// Levenshtein distance (insertions, deletions, substitutions), ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` (the first of equally close ones) when it is at most
// `max_distance` edits away; without a bound, when it is close enough to be a likely typo
// (two edits, or a third of a long word). nullopt otherwise.
std::optional<std::string_view> ClosestMatch(std::string_view word, std::span<const std::string_view> candidates,
                                             std::optional<size_t> max_distance = std::nullopt);
// " (did you mean 'x'?)" with ClosestMatch's choice, or "".
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates,
                       std::optional<size_t> max_distance = std::nullopt);

}  // namespace fabricctl
