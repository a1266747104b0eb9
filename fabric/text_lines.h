#pragma once
// Line-by-line reading of a text held in memory, shared by the strict parsers (whose errors
// name file:line): each line without its '\n' or a trailing '\r', and its 1-based number.
#include <cstddef>
#include <string_view>
#include <vector>

namespace fabricctl {

class TextLines {
 public:
  explicit TextLines(std::string_view text) : text_(text) {}

  // Moves to the next line; false when the text is used up (a final '\n' ends the last line,
  // it does not start an empty one).
  bool Next() {
    if (pos_ >= text_.size()) return false;
    const size_t nl = text_.find('\n', pos_);
    line_ = text_.substr(pos_, nl == std::string_view::npos ? std::string_view::npos : nl - pos_);
    pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
    ++number_;
    if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
    return true;
  }
  std::string_view line() const { return line_; }
  int number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  std::string_view line_;
  int number_ = 0;
};

// s without leading and trailing blanks (spaces, tabs, '\r').
inline std::string_view TrimBlanks(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The items of a list such as "ftree,updn", in order; empty items are kept ("a,,b" has three
// and "" has one) so that a caller can name them in its error.
inline std::vector<std::string_view> SplitList(std::string_view text, char separator = ',') {
  std::vector<std::string_view> items;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    items.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return items;
    start = end + 1;
  }
}

}  // namespace fabricctl
