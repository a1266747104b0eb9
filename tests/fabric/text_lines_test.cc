#include "fabric/text_lines.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace fabricctl {
namespace {

std::vector<std::string> All(std::string_view text, std::vector<int>* numbers = nullptr) {
  std::vector<std::string> out;
  for (TextLines lines(text); lines.Next();) {
    out.emplace_back(lines.line());
    if (numbers) numbers->push_back(lines.number());
  }
  return out;
}

TEST_CASE("TextLines: lines, numbers, CRLF, a final newline ends the last line") {
  std::vector<int> numbers;
  CHECK(All("a\r\n\nb c\r\nlast", &numbers) == std::vector<std::string>{"a", "", "b c", "last"});
  CHECK(numbers == std::vector<int>{1, 2, 3, 4});
  CHECK(All("one\n") == std::vector<std::string>{"one"});
  CHECK(All("").empty());
  CHECK(All("\n") == std::vector<std::string>{""});
}

TEST_CASE("TrimBlanks: spaces, tabs and carriage returns at both ends only") {
  CHECK(TrimBlanks(" \t x y\r ") == "x y");
  CHECK(TrimBlanks(" \t\r").empty());
  CHECK(TrimBlanks("") == "");
  CHECK(TrimBlanks("a") == "a");
}

}  // namespace
}  // namespace fabricctl
