#include "fabric/error.h"

#include <algorithm>

namespace fabricctl {
namespace {

// The offending line goes to a terminal: a binary file or a minified one-line file must not
// flood it or send it escape sequences. Lines longer than this show a window around the
// caret.
constexpr size_t kMaxShown = 160;

// Control bytes (a binary file's ESC, NUL, CR...) become '?'; tabs stay so the caret,
// padded with the same tabs, lands under the right character.
std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
  return out;
}

}  // namespace

std::string Error::Format() const {
  std::string out;
  if (!where.empty()) {
    out += where;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  }
  out += message;
  if (!text.empty()) {
    size_t caret = column > 0 ? static_cast<size_t>(column) - 1 : 0;  // 0-based, into `text`
    size_t start = 0, end = text.size();
    if (text.size() > kMaxShown) {
      start = caret > kMaxShown / 2 ? std::min(caret - kMaxShown / 2, text.size() - kMaxShown) : 0;
      end = start + kMaxShown;
    }
    const std::string lead = start > 0 ? "..." : "";
    const std::string shown = lead + Printable(std::string_view(text).substr(start, end - start));
    out += "\n  " + shown + (end < text.size() ? "..." : "");
    if (column > 0 && caret >= start && caret <= end) {
      std::string pad;
      for (size_t i = 0; i < caret - start + lead.size() && i < shown.size(); ++i) pad += shown[i] == '\t' ? '\t' : ' ';
      out += "\n  " + pad + "^";
    }
  }
  return out;
}

}  // namespace fabricctl
