#include "fabric/topology_io.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "fabric/file_io.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

std::string ReadError(const std::string& name, const std::string& contents) {
  const testing::ScratchDir scratch("topology-io");
  std::string path = scratch / name;
  REQUIRE(WriteFileAtomic(path, contents));
  auto f = ReadTopologyFile(path);
  if (f) return "(read)";
  std::string text = f.error().Format();
  // The temp dir differs between machines; the message after it does not.
  return text.substr(text.find(name));
}

TEST_CASE("ReadTopologyFile: an empty or record-less file is an error, not an empty fabric") {
  CHECK(ReadError("empty.topo", "") == "empty.topo: empty file, expected an ibnetdiscover, ibsim or JSON topology");
  CHECK(ReadError("blank.topo", " \r\n\n\t\n") ==
        "blank.topo: empty file, expected an ibnetdiscover, ibsim or JSON topology");
  CHECK(ReadError("comments.topo", "#\n# Topology file: generated on nothing\n#\n") ==
        "comments.topo: no Switch, Ca or Rt record: not an ibnetdiscover topology");
  CHECK(ReadError("nodes.json", R"({"format": "fabricctl-topology", "version": 1, "nodes": [], "links": []})")
            .starts_with("nodes.json"));
}

TEST_CASE("ReadTopologyFile: binary garbage fails at its line without raw control bytes") {
  std::string gzip("\x1f\x8b\x08\x00\x1b[31mred\x00\xff\xfe", 14);
  CHECK(ReadError("gzip.topo", gzip) ==
        "gzip.topo:1: binary data (a NUL byte at offset 3): expected a text file; a compressed file must be "
        "uncompressed first");
  // Without a NUL byte the text reader sees it, and the shown line is cleaned.
  std::string escapes = "#\n\x1b[2J\x1b]0;owned\x07\xff\n";
  std::string e = ReadError("escapes.topo", escapes);
  CHECK(e.starts_with("escapes.topo:2: expected a node record"));
  for (char c : e) CHECK((static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t'));
}

TEST_CASE("ReadTopologyFile: a UTF-8 byte-order mark is skipped, in both formats") {
  const std::string topo = "\xEF\xBB\xBFSwitch 2 \"a\"\r\n[1] \"b\"[1]\r\n\r\nHca 1 \"b\"\r\n[1] \"a\"[1]\r\n";
  const testing::ScratchDir scratch("topology-io");
  std::string path = scratch / "bom.topo";
  REQUIRE(WriteFileAtomic(path, topo));
  auto f = ReadTopologyFile(path);
  REQUIRE_MESSAGE(f, (f ? "" : f.error().Format()));
  CHECK(f->num_nodes() == 2);
  CHECK(f->description(0) == "a");
  // JSON is recognised behind the mark: the error is the JSON reader's, not line 1 of ibnetdiscover.
  CHECK(ReadError("bom.json", "\xEF\xBB\xBF{}").find("expected a node record") == std::string::npos);
}

}  // namespace
}  // namespace fabricctl
