#include "fabric/json_reader.h"

#include <doctest/doctest.h>

#include <string>

namespace fabricctl {
namespace {

std::string Nested(size_t depth, std::string_view inner = "1") {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

TEST_CASE("ReadJsonDocument: nesting deeper than the bound is an error with file and line, not a crash") {
  CHECK(ReadJsonDocument(Nested(kMaxJsonDepth), "ok.json"));
  auto deep = ReadJsonDocument("{\n\"a\":\n" + Nested(kMaxJsonDepth) + "}", "deep.json");
  REQUIRE(!deep);
  CHECK(deep.error().Format().starts_with("deep.json:3: JSON nested deeper than 64 levels"));
  // Far past any stack: the parse stops at the bound without building the rest.
  auto very = ReadJsonDocument(Nested(1'000'000), "very.json");
  REQUIRE(!very);
  CHECK(very.error().line == 1);
}

TEST_CASE("ReadJsonDocument: a key given twice in one object is refused with its line") {
  auto r = ReadJsonDocument("{\"a\": 1,\n \"a\": 2}", "dup.json");
  REQUIRE(!r);
  CHECK(r.error().Format().starts_with("dup.json:2: key \"a\" given twice in one object"));
  CHECK(ReadJsonDocument("{\"a\": {\"b\": 1}, \"b\": {\"a\": 1}}", "ok.json"));
}

TEST_CASE("ReadJsonDocument: syntax errors name line and column") {
  auto r = ReadJsonDocument("{\n  \"a\": [1,\n  ]\n}", "s.json");
  REQUIRE(!r);
  CHECK(r.error().where == "s.json");
  CHECK(r.error().line == 3);
  CHECK(r.error().message.starts_with("JSON syntax error at byte"));
}

TEST_CASE("JsonFields: errors name the file, the line of the value and its JSON pointer") {
  auto doc = ReadJsonDocument("{\"list\": [\n  [1, 2],\n  [3, 4294967297]\n]}", "f.json");
  REQUIRE(doc);
  JsonFields fields("f.json", &(*doc)->lines);
  JsonPath root;
  JsonPath list = root.Key("list");
  JsonPath second = list.Index(1);
  JsonPath port = second.Index(1);
  const nlohmann::json& value = (*doc)->root["list"][1][1];
  auto v = fields.Unsigned(value, port, 254);
  REQUIRE(!v);
  // 2^32 + 1 is out of range, never read as 1.
  CHECK(v.error().Format() == "f.json:3: /list/1/1: expected 0..254, got 4294967297");
  CHECK(*fields.Unsigned((*doc)->root["list"][0][1], port, 254) == 2);
}

TEST_CASE("JsonFields: wrong types and numbers past 64 bits are errors, quoted and cut") {
  auto doc = ReadJsonDocument(
      R"({"huge": 99999999999999999999, "neg": -1, "s": ")" + std::string(1000, 'x') + R"(", "f": 1.5})", "t.json");
  REQUIRE(doc);
  JsonFields fields("t.json", &(*doc)->lines);
  JsonPath root;
  const auto& j = (*doc)->root;
  JsonPath huge = root.Key("huge"), neg = root.Key("neg"), s = root.Key("s"), f = root.Key("f");
  CHECK(fields.Unsigned(j["huge"], huge, UINT64_MAX).error().message ==
        "/huge: expected an unsigned integer 0..18446744073709551615, got 1e+20");
  CHECK(fields.Unsigned(j["neg"], neg, 7).error().message == "/neg: expected 0..7, got -1");
  CHECK(fields.Unsigned(j["f"], f, 7).error().message == "/f: expected an unsigned integer 0..7, got 1.5");
  std::string long_value = fields.Unsigned(j["s"], s, 7).error().message;
  CHECK(long_value.size() < 200);
  CHECK(long_value.ends_with("... (1002 bytes)"));
  CHECK(fields.String(j["f"], f).error().message == "/f: expected a string, got 1.5");
  CHECK(fields.Hex(j["s"], s, 16).error().message.size() < 200);
}

TEST_CASE("JsonFields: objects refuse unknown fields, arrays their size, each by path") {
  auto doc = ReadJsonDocument("{\"a\": [1, 2, 3],\n \"zzz\": 0}", "o.json");
  REQUIRE(doc);
  JsonFields fields("o.json", &(*doc)->lines);
  JsonPath root;
  CHECK(fields.Object((*doc)->root, root, {"a"}).error().Format() == "o.json:2: /zzz: unknown field, expected a");
  JsonPath a = root.Key("a");
  CHECK(fields.Array((*doc)->root["a"], a, 2, 2).error().message == "/a: expected an array of 2 values, got 3");
  CHECK(fields.Required((*doc)->root, root, "b").error().message == "/: missing field \"b\"");
}

}  // namespace
}  // namespace fabricctl
