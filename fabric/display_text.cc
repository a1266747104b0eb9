#include "fabric/display_text.h"

#include <fmt/format.h>

#include <algorithm>

namespace fabricctl {

namespace {

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms,
// no surrogates, nothing past U+10FFFF), 0 when the bytes there are not one.
size_t Utf8SequenceLength(std::string_view s, char32_t& code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || s.size() < length) return 0;
  code_point = lead & (0x7f >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3f);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kSmallest[length] || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
    return 0;
  return length;
}

}  // namespace

std::string PrintableText(std::string_view s, LineFeeds line_feeds) {
  std::string out(s);
  for (size_t i = 0; i < out.size();) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    if (c < 0x80) {
      const bool kept = c == '\t' || (c == '\n' && line_feeds == LineFeeds::kKeep);
      if (!kept && (c < 0x20 || c == 0x7f)) out[i] = '?';
      ++i;
      continue;
    }
    // Bytes that are not UTF-8, and the C1 controls (U+0080..U+009F, among them U+009B, a
    // one-character CSI), could drive a terminal too: each of their bytes becomes '?', so
    // the text keeps its length and a caret under it its column.
    char32_t code_point = 0;
    size_t length = Utf8SequenceLength(std::string_view(out).substr(i), code_point);
    if (length == 0 || code_point <= 0x9f) {
      length = std::max<size_t>(length, 1);
      std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(i), length, '?');
    }
    i += length;
  }
  return out;
}

std::string ShownValue(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return PrintableText(s);
  return fmt::format("{}... ({} bytes)", PrintableText(s.substr(0, max_bytes)), s.size());
}

}  // namespace fabricctl
