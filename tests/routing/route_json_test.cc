#include "routing/route_json.h"

#include <doctest/doctest.h>

#include <string>

#include "routing/route_io.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

// A ring routed by updn, dressed up as a 2-VL route set so routes.json carries SL tables.
struct TwoVl {
  Fabric fabric = testing::Ring(3, 2);
  RouteSet routes;
  TwoVl() {
    auto routed = testing::RouteWith(fabric, "updn");
    REQUIRE(routed);
    routes = std::move(routed->routes);
    SubnetRoutes& r = routes.subnets[0];
    const size_t lids = r.num_lids();
    r.num_vls = 2;
    r.pair_sl.assign(fabric.subnets()[0].endpoint_ports.size() * lids, 1);
    r.sl2vl_stride = 5;
    r.sl2vl.assign(r.switches.size() * 25 * 16, 0);
    r.sl2vl[((1 * 5 + 1) * 5 + 2) * 16] = 1;  // one map differs from the default: one sl2vl row
  }
  std::string Json() const { return WriteRouteJson(fabric, routes); }
};

// `text` with `insert` placed right after the first `after`.
std::string Inserted(std::string text, std::string_view after, std::string_view insert) {
  size_t at = text.find(after);
  REQUIRE(at != std::string::npos);
  return text.insert(at + after.size(), insert);
}

std::string ErrorOf(std::string_view text) {
  auto parsed = ParseRouteJson(text, "r.json");
  REQUIRE(!parsed);
  return parsed.error().Format();
}

TEST_CASE("routes.json: deeply nested pair_sl or sl2vl is an error with file and line, not a stack overflow") {
  TwoVl t;
  std::string text = t.Json();
  REQUIRE(ParseRouteJson(text, "r.json"));
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']') + ",";
  for (std::string_view key : {"\"pair_sl\": [", "\"sl2vl\": ["}) {
    INFO(key);
    std::string error = ErrorOf(Inserted(text, key, deep));
    CHECK(error.find("JSON nested deeper than 64 levels") != std::string::npos);
    CHECK(error.starts_with("r.json:"));
  }
}

constexpr std::string_view kHead = R"({"format": "fabricctl-routes", "version": 1, "subnets": [{"name": "subnet0", )";

TEST_CASE("routes.json: a LID owner's port of 2^32+1 is an error, not port 1") {
  std::string text =
      std::string(kHead) + R"("num_lids": 3, "lids": [[1, "0x0000000000003000", 4294967297]], "switches": []}]})";
  CHECK(ErrorOf(text) == "r.json:1: /subnets/0/lids/0/2: expected 0..254, got 4294967297");
}

TEST_CASE("routes.json: wrong types and out-of-range numbers name the JSON path, never an exception") {
  TwoVl t;
  const std::string text = t.Json();
  enum Edit { kReplaceValue, kInsert };
  struct Case {
    Edit edit;
    std::string_view after, text, error;
  };
  const Case cases[] = {
      {kReplaceValue, "\"engine\": ", "5", "/subnets/0/engine: expected a string, got 5"},
      {kReplaceValue, "\"vls\": ", "4294967298", "/subnets/0/vls: expected 1..15, got 4294967298"},
      {kReplaceValue, "\"num_lids\": ", "\"3\"",
       "/subnets/0/num_lids: expected an unsigned integer 0..268435456, got \"3\""},
      {kReplaceValue, "\"lid\": ", "1e3",
       "/subnets/0/switches/0/lid: expected an unsigned integer 0..268435455, got 1000.0"},
      {kInsert, "\"pair_sl\": [", "[4294967297, \"\"], ", "/subnets/0/sl/pair_sl/0/0: expected 1..9, got 4294967297"},
      {kInsert, "\"sl2vl\": [", "[\"0x0000000000003001\", 300, 2, \"0000000000000000\"], ",
       "/subnets/0/sl/sl2vl/0/1: expected 0..254, got 300"},
      {kInsert, "\"sl2vl\": [", "[\"0x0000000000003001\", 1, 0, \"0000000000000000\"], ",
       "/subnets/0/sl/sl2vl/0/2: expected 1..254, got 0"},
      {kInsert, "\"sl2vl\": [", "[\"0x0000000000003001\", 1, 2, \"000000000000000g\"], ",
       "/subnets/0/sl/sl2vl/0/3: expected 16 hex digits (the VL of SL 0..15), got \"000000000000000g\""},
      {kInsert, "\"lids\": [", "[1, \"0x3000\", 1, 5], ", "/subnets/0/lids/0: expected [LID, \"0xNODEGUID\", PORT]"},
      {kInsert, "\"subnets\": [", "{\"name\": \"s\", \"bogus\": 1}, ",
       "/subnets/0/bogus: unknown field, expected name, engine, reason, num_lids, vls, lids, switches, sl"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    std::string edited = text;
    size_t at = edited.find(c.after);
    REQUIRE(at != std::string::npos);
    at += c.after.size();
    size_t end = c.edit == kReplaceValue ? edited.find_first_of(",\n}", at) : at;
    edited.replace(at, end - at, c.text);
    std::string error = ErrorOf(edited);
    CHECK(error.find(std::string(c.error)) != std::string::npos);
    CHECK(error.starts_with("r.json:"));
  }
}

TEST_CASE("routes.json: errors found after reading name the line of the entry") {
  TwoVl t;
  // Source LID 1 is a switch in this ring, not an endpoint: ApplyRawSlTable refuses it.
  std::string text = Inserted(t.Json(), "\"pair_sl\": [", "\n[1, \"----------\"],");
  auto dir = ParseRouteJson(text, "r.json");
  REQUIRE(dir);
  REQUIRE(dir->at(0).sl);
  const RawSlTable& sl = *dir->at(0).sl;
  REQUIRE(!sl.rows.empty());
  CHECK(sl.rows[0].src == 1);
  CHECK(sl.rows[0].line > 1);
  CHECK(dir->at(0).lfts.switches.at(0).line > 1);
}

}  // namespace
}  // namespace fabricctl
