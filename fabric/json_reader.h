#pragma once
// Strict, bounded reading of JSON input files, shared by every JSON reader (topology,
// routes.json, sweep plans):
// - a SAX parse (no recursion) that refuses nesting deeper than kMaxJsonDepth, because
//   copies, dumps and comparisons of nlohmann values recurse and a deep file would
//   overflow the stack, and that refuses a key repeated in one object;
// - the line each value starts on, so errors can name it;
// - typed reads (string, unsigned in a range, hex, array, object, field) whose errors say
//   `file:line: /json/pointer: what was expected, got VALUE`, the value cut by ShownValue.
// Readers take values by reference and walk arrays by index: no value is copied.
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fabric/error.h"

namespace fabricctl {

// Deeper than any format we read (the topology goes 4 levels deep), far from a stack limit.
inline constexpr int kMaxJsonDepth = 64;

// The 1-based line of a byte offset, and that line's text with the column in it (a window
// around the column for long, minified lines).
struct LineInfo {
  int line = 1;
  int column = 1;
  std::string text;
};
LineInfo LineAt(std::string_view text, size_t pos);

// The error for a syntax error that nlohmann's SAX parser reports at byte `position`.
Error JsonSyntaxError(std::string_view text, std::string_view filename, size_t position,
                      const nlohmann::detail::exception& e);
// The error for a container opened at byte `position` deeper than kMaxJsonDepth.
Error JsonTooDeepError(std::string_view text, std::string_view filename, size_t position);

// The error for a key given twice in one object, the parser at byte `position`.
Error JsonDuplicateKeyError(std::string_view text, std::string_view filename, size_t position, std::string_view key);

// nlohmann's SAX events reduced to Scalar(value), Open(container) and Close() of Derived,
// which also defines key() and parse_error().
template <typename Derived>
class JsonSaxEvents {
 public:
  using json = nlohmann::json;
  bool null() { return self().Scalar(json(nullptr)); }
  bool boolean(bool v) { return self().Scalar(json(v)); }
  bool number_integer(json::number_integer_t v) { return self().Scalar(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return self().Scalar(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return self().Scalar(json(v)); }
  bool string(std::string& v) { return self().Scalar(json(std::move(v))); }
  bool binary(json::binary_t& v) { return self().Scalar(json(std::move(v))); }
  bool start_object(size_t) { return self().Open(json::object()); }
  bool start_array(size_t) { return self().Open(json::array()); }
  bool end_object() { return self().Close(); }
  bool end_array() { return self().Close(); }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

// An input iterator that publishes how far the parser has read, so errors found while
// streaming can name a line (nlohmann's SAX interface does not pass positions).
class CountingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  CountingIterator(const char* p, const char** seen) : p_(p), seen_(seen) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    *seen_ = ++p_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const CountingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_;
  const char** seen_;
};

// Where each value of a document starts. Array elements move while their array grows, so
// they are kept by (array, index) until the document is complete, then by address. Flat
// sorted vectors rather than hash maps: a document may hold millions of values, and a
// node per value cost more than parsing the text.
class JsonLineTable {
 public:
  void Member(const nlohmann::json* value, int line) { lines_.push_back({value, line}); }
  // Called right after the element was appended to `array`.
  void Element(const nlohmann::json::array_t* array, int line) {
    elements_.push_back({array, array->size() - 1, line});
  }
  // Called once every array has its final size and every value is recorded.
  void Settle();
  int LineOf(const nlohmann::json& value) const;

 private:
  struct PendingElement {
    const nlohmann::json::array_t* array;
    size_t index;
    int line;
  };
  std::vector<std::pair<const nlohmann::json*, int>> lines_;  // by address once settled
  std::vector<PendingElement> elements_;
};

// Builds one JSON value from SAX events with an explicit stack of open containers.
class JsonValueBuilder {
 public:
  explicit JsonValueBuilder(JsonLineTable* lines = nullptr) : lines_(lines) {}
  void Reset() {
    root_ = nlohmann::json();
    stack_.clear();
  }
  // Returns true when the value is complete.
  bool Scalar(nlohmann::json v, int line = 0) {
    *Slot(line) = std::move(v);
    return stack_.empty();
  }
  void Open(nlohmann::json container, int line = 0) {
    nlohmann::json* slot = Slot(line);
    *slot = std::move(container);
    stack_.push_back(slot);
  }
  bool Close() {
    stack_.pop_back();
    return stack_.empty();
  }
  // False when the innermost open object already has this key.
  bool Key(std::string& key) {
    if (!stack_.empty() && stack_.back()->is_object() && stack_.back()->contains(key)) return false;
    key_ = std::move(key);
    return true;
  }
  size_t depth() const { return stack_.size(); }
  const nlohmann::json& value() const { return root_; }
  nlohmann::json& value() { return root_; }

 private:
  nlohmann::json* Slot(int line);
  nlohmann::json root_;
  std::vector<nlohmann::json*> stack_;  // open containers; only the innermost one grows
  std::string key_;
  JsonLineTable* lines_;
};

// A JSON pointer (RFC 6901) spelled out only when an error needs it. A path refers to its
// parent path: build children from a named local, never from a temporary.
class JsonPath {
 public:
  JsonPath() = default;
  JsonPath Key(std::string_view key) const { return JsonPath(this, key, 0); }
  JsonPath Index(size_t index) const { return JsonPath(this, {}, index); }
  std::string str() const;

 private:
  JsonPath(const JsonPath* parent, std::string_view key, size_t index) : parent_(parent), key_(key), index_(index) {}
  const JsonPath* parent_ = nullptr;
  std::string_view key_;
  size_t index_ = 0;
};

// "string", "-3", "an array", ...: what a message says it got instead.
std::string ShownJson(const nlohmann::json& value);

// Typed reads of the values of one file. Errors are `filename[:line]: /pointer: message`,
// the line taken from `lines` when given.
class JsonFields {
 public:
  explicit JsonFields(std::string_view filename, const JsonLineTable* lines = nullptr)
      : filename_(filename), lines_(lines) {}

  const std::string& filename() const { return filename_; }
  // `value` names the line; nullptr for none.
  std::unexpected<Error> Fail(const JsonPath& at, std::string_view message,
                              const nlohmann::json* value = nullptr) const;

  Result<const std::string*> String(const nlohmann::json& j, const JsonPath& at) const;
  Result<uint64_t> Unsigned(const nlohmann::json& j, const JsonPath& at, uint64_t max) const;
  Result<uint64_t> Unsigned(const nlohmann::json& j, const JsonPath& at, uint64_t min, uint64_t max) const;
  // "0x" and 1..max_digits hex digits.
  Result<uint64_t> Hex(const nlohmann::json& j, const JsonPath& at, unsigned max_digits) const;
  // An array of min..max elements.
  Result<const nlohmann::json*> Array(const nlohmann::json& j, const JsonPath& at, size_t min = 0,
                                      size_t max = SIZE_MAX) const;
  // An object whose keys are all among `known`.
  Result<const nlohmann::json*> Object(const nlohmann::json& j, const JsonPath& at,
                                       std::initializer_list<std::string_view> known) const;
  // A member of an object (already checked to be one); nullptr when absent.
  static const nlohmann::json* Find(const nlohmann::json& object, std::string_view key);
  Result<const nlohmann::json*> Required(const nlohmann::json& object, const JsonPath& at, std::string_view key) const;

 private:
  std::string filename_;
  const JsonLineTable* lines_;
};

// A whole document, read with the bounds above.
struct JsonDocument {
  nlohmann::json root;
  JsonLineTable lines;
  int root_line = 0;
};
Result<std::unique_ptr<JsonDocument>> ReadJsonDocument(std::string_view text, std::string_view filename);

}  // namespace fabricctl
