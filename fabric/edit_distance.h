#pragma once
// How far apart two words are, for "did you mean" suggestions on unknown names (engines,
// generator parameters, counter names).
#include <cstddef>
#include <string_view>

namespace fabricctl {

// Levenshtein distance (insertions, deletions, substitutions), ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace fabricctl
