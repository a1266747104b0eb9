#include "fabric/json_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <iterator>
#include <optional>

#include "fabric/display_text.h"

namespace fabricctl {

using nlohmann::json;

LineInfo LineAt(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  // A newline that ends a bad token belongs to the line it ends.
  size_t line_start = pos == 0 ? std::string_view::npos : text.rfind('\n', pos - 1);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  LineInfo info;
  info.line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(line_start), '\n'));
  std::string_view line_text = text.substr(line_start, line_end - line_start);
  size_t column = std::min(pos, line_end) - line_start;
  // Minified files are one long line: show a window around the error.
  constexpr size_t kWindow = 60;
  if (line_text.size() > 2 * kWindow) {
    size_t from = column > kWindow ? column - kWindow : 0;
    line_text = line_text.substr(from, 2 * kWindow);
    column -= from;
  }
  info.column = static_cast<int>(column) + 1;
  info.text = std::string(line_text);
  return info;
}

Error JsonSyntaxError(std::string_view text, std::string_view filename, size_t position,
                      const nlohmann::detail::exception& e) {
  LineInfo at = LineAt(text, position == 0 ? 0 : position - 1);
  // what() is "[json.exception.parse_error.101] parse error at line 3, column 5: reason";
  // the location goes into Error's fields, so keep only the reason.
  std::string_view w = e.what();
  size_t colon = w.find("column ");
  if (colon != std::string_view::npos) colon = w.find(": ", colon);
  std::string reason(colon == std::string_view::npos ? w : w.substr(colon + 2));
  return Error{.message = fmt::format("JSON syntax error at byte {}: {}", position, ShownValue(reason, 200)),
               .where = std::string(filename),
               .line = at.line,
               .column = at.column,
               .text = std::move(at.text)};
}

Error JsonTooDeepError(std::string_view text, std::string_view filename, size_t position) {
  LineInfo at = LineAt(text, position);
  return Error{.message = fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth),
               .where = std::string(filename),
               .line = at.line,
               .column = at.column,
               .text = std::move(at.text)};
}

Error JsonDuplicateKeyError(std::string_view text, std::string_view filename, size_t position, std::string_view key) {
  LineInfo at = LineAt(text, position);
  return Error{.message = fmt::format("key \"{}\" given twice in one object", ShownValue(key)),
               .where = std::string(filename),
               .line = at.line,
               .column = at.column,
               .text = std::move(at.text)};
}

void JsonLineTable::Settle() {
  lines_.reserve(lines_.size() + elements_.size());
  for (const PendingElement& e : elements_)
    if (e.index < e.array->size()) lines_.push_back({&(*e.array)[e.index], e.line});
  elements_ = {};
  std::stable_sort(lines_.begin(), lines_.end(),
                   [](const auto& a, const auto& b) { return std::less<const json*>()(a.first, b.first); });
}

int JsonLineTable::LineOf(const json& value) const {
  // The last record of an address wins, as a later assignment would.
  auto it = std::upper_bound(lines_.begin(), lines_.end(), &value,
                             [](const json* v, const auto& entry) { return std::less<const json*>()(v, entry.first); });
  if (it == lines_.begin() || std::prev(it)->first != &value) return 0;
  return std::prev(it)->second;
}

json* JsonValueBuilder::Slot(int line) {
  if (stack_.empty()) return &root_;
  json& top = *stack_.back();
  if (top.is_array()) {
    top.push_back(nullptr);
    if (lines_) lines_->Element(top.get_ptr<json::array_t*>(), line);
    return &top.back();
  }
  json* member = &top[key_];
  if (lines_) lines_->Member(member, line);
  return member;
}

std::string JsonPath::str() const {
  if (!parent_) return {};
  std::string s = parent_->str() + "/";
  if (!key_.data()) return s + std::to_string(index_);
  for (char c : key_) s += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);  // RFC 6901
  return s;
}

std::string ShownJson(const json& value) {
  switch (value.type()) {
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::discarded:
      return "nothing";
    default:
      return ShownValue(value.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

std::unexpected<Error> JsonFields::Fail(const JsonPath& at, std::string_view message, const json* value) const {
  std::string pointer = at.str();
  return std::unexpected(Error{.message = fmt::format("{}: {}", pointer.empty() ? "/" : pointer, message),
                               .where = filename_,
                               .line = value && lines_ ? lines_->LineOf(*value) : 0});
}

Result<const std::string*> JsonFields::String(const json& j, const JsonPath& at) const {
  if (!j.is_string()) return Fail(at, fmt::format("expected a string, got {}", ShownJson(j)), &j);
  return j.get_ptr<const std::string*>();
}

Result<uint64_t> JsonFields::Unsigned(const json& j, const JsonPath& at, uint64_t max) const {
  return Unsigned(j, at, 0, max);
}

Result<uint64_t> JsonFields::Unsigned(const json& j, const JsonPath& at, uint64_t min, uint64_t max) const {
  // A DOM built in memory stores non-negative ints as signed; parsed text as unsigned.
  // Integers too large for 64 bits arrive as floating point and are refused here too.
  bool in_range = j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0);
  if (!in_range || j.get<uint64_t>() < min || j.get<uint64_t>() > max) {
    std::string_view kind = j.is_number_integer() ? "" : "an unsigned integer ";
    std::string range = min == max ? std::to_string(min) : fmt::format("{}..{}", min, max);
    return Fail(at, fmt::format("expected {}{}, got {}", kind, range, ShownJson(j)), &j);
  }
  return j.get<uint64_t>();
}

Result<uint64_t> JsonFields::Hex(const json& j, const JsonPath& at, unsigned max_digits) const {
  auto s = String(j, at);
  if (!s) return std::unexpected(s.error());
  std::string_view text = **s;
  uint64_t v = 0;
  bool ok = text.size() >= 3 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') && text.size() - 2 <= max_digits;
  if (ok) {
    auto [ptr, ec] = std::from_chars(text.data() + 2, text.data() + text.size(), v, 16);
    ok = ec == std::errc() && ptr == text.data() + text.size();
  }
  if (!ok)
    return Fail(
        at, fmt::format("expected a hex number \"0x...\" of 1..{} digits, got \"{}\"", max_digits, ShownValue(text)),
        &j);
  return v;
}

Result<const json*> JsonFields::Array(const json& j, const JsonPath& at, size_t min, size_t max) const {
  if (!j.is_array()) return Fail(at, fmt::format("expected an array, got {}", ShownJson(j)), &j);
  if (j.size() < min || j.size() > max) {
    std::string want = min == max        ? std::to_string(min)
                       : max == SIZE_MAX ? fmt::format("at least {}", min)
                                         : fmt::format("{}..{}", min, max);
    return Fail(at, fmt::format("expected an array of {} values, got {}", want, j.size()), &j);
  }
  return &j;
}

Result<const json*> JsonFields::Object(const json& j, const JsonPath& at,
                                       std::initializer_list<std::string_view> known) const {
  if (!j.is_object()) return Fail(at, fmt::format("expected an object, got {}", ShownJson(j)), &j);
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      JsonPath here = at.Key(it.key());
      return Fail(here, fmt::format("unknown field, expected {}", fmt::join(known, ", ")), &*it);
    }
  return &j;
}

const json* JsonFields::Find(const json& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Result<const json*> JsonFields::Required(const json& object, const JsonPath& at, std::string_view key) const {
  const json* field = Find(object, key);
  if (!field) return Fail(at, fmt::format("missing field \"{}\"", key), &object);
  return field;
}

namespace {

// SAX events to one document, with the nesting bound, duplicate keys refused and the line
// of every value recorded. Lines are counted as the parser advances, never from the start.
class DocumentHandler : public JsonSaxEvents<DocumentHandler> {
 public:
  DocumentHandler(std::string_view text, std::string_view filename, JsonDocument& doc)
      : text_(text), filename_(filename), doc_(doc), builder_(&doc.lines), seen_(text.data()) {}

  Result<void> Run() {
    const char* begin = text_.data();
    bool ok = false;
    try {
      ok = json::sax_parse(CountingIterator(begin, &seen_), CountingIterator(begin + text_.size(), &seen_), this);
    } catch (const json::exception& e) {
      error_ = Error{.message = fmt::format("JSON reader failed: {}", ShownValue(e.what(), 200)), .where = filename_};
    }
    if (!ok && !error_) error_ = Error{.message = "JSON parser stopped without a reason", .where = filename_};
    if (!ok) return std::unexpected(std::move(*error_));
    doc_.root = std::move(builder_.value());
    doc_.lines.Member(&doc_.root, doc_.root_line);
    doc_.lines.Settle();
    return {};
  }

  bool key(std::string& k) {
    if (builder_.Key(k)) return true;
    error_ = JsonDuplicateKeyError(text_, filename_, Position(), k);
    return false;
  }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& e) {
    error_ = JsonSyntaxError(text_, filename_, position, e);
    return false;
  }

  bool Scalar(json v) {
    int line = Line();
    if (builder_.depth() == 0) doc_.root_line = line;
    builder_.Scalar(std::move(v), line);
    return true;
  }
  bool Open(json container) {
    int line = Line();
    if (builder_.depth() >= static_cast<size_t>(kMaxJsonDepth)) {
      error_ = JsonTooDeepError(text_, filename_, Position());
      return false;
    }
    if (builder_.depth() == 0) doc_.root_line = line;
    builder_.Open(std::move(container), line);
    return true;
  }
  bool Close() {
    builder_.Close();
    return true;
  }

 private:
  // The last byte the parser has read: the end of a scalar, or a container's bracket.
  size_t Position() const {
    size_t read = static_cast<size_t>(seen_ - text_.data());
    return read == 0 ? 0 : read - 1;
  }
  int Line() {
    size_t pos = Position();
    if (pos > counted_) {
      line_ += static_cast<int>(std::count(text_.begin() + static_cast<ptrdiff_t>(counted_),
                                           text_.begin() + static_cast<ptrdiff_t>(pos), '\n'));
      counted_ = pos;
    }
    return line_;
  }

  std::string_view text_;
  std::string filename_;
  JsonDocument& doc_;
  JsonValueBuilder builder_;
  const char* seen_;
  size_t counted_ = 0;  // newlines before this byte are in line_
  int line_ = 1;
  std::optional<Error> error_;
};

}  // namespace

Result<std::unique_ptr<JsonDocument>> ReadJsonDocument(std::string_view text, std::string_view filename) {
  auto doc = std::make_unique<JsonDocument>();
  DocumentHandler handler(text, filename, *doc);
  if (auto r = handler.Run(); !r) return std::unexpected(r.error());
  return doc;
}

}  // namespace fabricctl
