#pragma once
// Text from files, peers and fabrics shown to a person: a terminal must not receive escape
// sequences from a node description, and a 1 MB offending value must not flood it. Every
// message that quotes a value it did not make uses these.
#include <cstddef>
#include <string>
#include <string_view>

namespace fabricctl {

// `s` with control bytes (below 0x20 except tab, 0x7f, the C1 controls U+0080..U+009F) and
// bytes that are not UTF-8 replaced by '?', one per byte. Tabs stay so a
// caret padded with the same tabs lands under the right character; line feeds stay when
// asked for (a message of several lines that we composed).
enum class LineFeeds { kReplace, kKeep };
std::string PrintableText(std::string_view s, LineFeeds line_feeds = LineFeeds::kReplace);

// `s` as it may appear inside a message: printable, and cut to `max_bytes` with
// "... (N bytes)" after it when longer.
std::string ShownValue(std::string_view s, std::size_t max_bytes = 64);

}  // namespace fabricctl
