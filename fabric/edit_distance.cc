#include "fabric/edit_distance.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace fabricctl {
namespace {

bool SameLetter(char a, char b) {
  return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (SameLetter(a[i - 1], b[j - 1]) ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string_view> ClosestMatch(std::string_view word, std::span<const std::string_view> candidates,
                                             std::optional<size_t> max_distance) {
  std::optional<std::string_view> best;
  size_t best_distance = 0;
  for (std::string_view c : candidates) {
    const size_t d = EditDistance(word, c);
    if (!best || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  // A typo changes a few characters; a different word changes most of them.
  const size_t limit = max_distance ? *max_distance : std::max<size_t>(2, word.size() / 3);
  if (best && best_distance <= limit) return best;
  return std::nullopt;
}

std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates,
                       std::optional<size_t> max_distance) {
  auto m = ClosestMatch(word, candidates, max_distance);
  return m ? fmt::format(" (did you mean '{}'?)", *m) : std::string();
}

}  // namespace fabricctl
