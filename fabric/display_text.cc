#include "fabric/display_text.h"

#include <fmt/format.h>

namespace fabricctl {

std::string PrintableText(std::string_view s, LineFeeds line_feeds) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || (c == '\n' && line_feeds == LineFeeds::kKeep)) continue;
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string ShownValue(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return PrintableText(s);
  return fmt::format("{}... ({} bytes)", PrintableText(s.substr(0, max_bytes)), s.size());
}

}  // namespace fabricctl
