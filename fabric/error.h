#pragma once
// Errors are values. Only cli/ prints them (as `where: message`, then the offending text
// and a caret) and decides the exit code.
#include <expected>
#include <string>

namespace fabricctl {

struct Error {
  std::string message;  // what was expected or what went wrong, without location
  std::string where;    // "file", "device:port", "switch 0x..."; empty when not applicable
  int line = 0;         // 1-based line in `where` for input files, 0 otherwise
  int column = 0;       // 1-based column of the caret, 0 for none
  std::string text;     // the offending line, shown under the message

  // `where:line: message` (+ "\n  text\n  ^" when text is set).
  std::string Format() const;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> MakeError(std::string message) {
  return std::unexpected(Error{.message = std::move(message)});
}
inline std::unexpected<Error> MakeInputError(std::string where, int line, std::string message, std::string text = {},
                                             int column = 0) {
  return std::unexpected(Error{.message = std::move(message),
                               .where = std::move(where),
                               .line = line,
                               .column = column,
                               .text = std::move(text)});
}

}  // namespace fabricctl
