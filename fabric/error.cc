#include "fabric/error.h"

#include <algorithm>

#include "fabric/display_text.h"

namespace fabricctl {
namespace {

// The offending line goes to a terminal: a binary file or a minified one-line file must not
// flood it or send it escape sequences. Lines longer than this show a window around the
// caret.
constexpr size_t kMaxShown = 160;

// A message or location that quotes input (a file name, a peer's text) is cleaned and cut
// here, as a last line of defence behind ShownValue at the places that quote. Messages may
// hold several lines (a list of engines that declined), so the bound is generous.
constexpr size_t kMaxWhere = 1024;
constexpr size_t kMaxMessage = 64 * 1024;

std::string ShownMessage(std::string_view message) {
  std::string out = PrintableText(message.substr(0, kMaxMessage), LineFeeds::kKeep);
  if (message.size() > kMaxMessage) out += "... (" + std::to_string(message.size()) + " bytes)";
  return out;
}

}  // namespace

std::string Error::Format() const {
  std::string out;
  if (!where.empty()) {
    out += ShownValue(where, kMaxWhere);
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  }
  out += ShownMessage(message);
  if (!text.empty()) {
    size_t caret = column > 0 ? static_cast<size_t>(column) - 1 : 0;  // 0-based, into `text`
    size_t start = 0, end = text.size();
    if (text.size() > kMaxShown) {
      start = caret > kMaxShown / 2 ? std::min(caret - kMaxShown / 2, text.size() - kMaxShown) : 0;
      end = start + kMaxShown;
    }
    const std::string lead = start > 0 ? "..." : "";
    const std::string shown = lead + PrintableText(std::string_view(text).substr(start, end - start));
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
