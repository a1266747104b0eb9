#include "probes/sweep/agents_file.h"

#include <doctest/doctest.h>

#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

PortId PortOf(const Fabric& fabric, std::string_view desc, unsigned number) {
  return fabric.port_id(*fabric.FindByDescription(desc), number);
}

TEST_CASE("agents file: a line per endpoint serves all its ports, a line per port only that port") {
  auto r = testing::FatTree(2, 2, 2, 2);
  auto file = ParseAgentsFile(r.fabric,
                              "# agents\n"
                              "host0 198.18.0.1  # both ports\n"
                              "host1[1] 198.18.0.2:18600 control=198.19.0.1 dev=eth1 rdma=mlx5_0:1\n"
                              "host1[2] [fd00::3] control=[fd00::1]:9000\n",
                              "a.txt");
  REQUIRE(file);
  const PortAgent* h0 = file->Find(PortOf(r.fabric, "host0", 1));
  REQUIRE(h0);
  CHECK(h0 == file->Find(PortOf(r.fabric, "host0", 2)));
  CHECK(h0->data == "198.18.0.1:18520");
  CHECK(h0->host == "198.18.0.1");
  CHECK(h0->control == "198.18.0.1:18520");  // control defaults to the data address
  CHECK(h0->line == 2);
  const PortAgent* h1 = file->Find(PortOf(r.fabric, "host1", 1));
  REQUIRE(h1);
  CHECK(h1->data == "198.18.0.2:18600");
  CHECK(h1->control == "198.19.0.1:18520");
  CHECK(h1->device == "eth1");
  CHECK(h1->rdma == "mlx5_0:1");
  const PortAgent* h1b = file->Find(PortOf(r.fabric, "host1", 2));
  REQUIRE(h1b);
  CHECK(h1b->data == "[fd00::3]:18520");
  CHECK(h1b->host == "fd00::3");
  CHECK(h1b->control == "[fd00::1]:9000");
  CHECK(h1b->device.empty());
  CHECK(file->Find(PortOf(r.fabric, "host2", 1)) == nullptr);
  CHECK(file->Find(PortOf(r.fabric, "leaf0", 1)) == nullptr);
  CHECK(file->entries().size() == 3);
}

TEST_CASE("agents file: errors name the file and line and show the line") {
  auto r = testing::FatTree(2, 2, 2, 2);
  auto e1 = ParseAgentsFile(r.fabric, "host0\n", "a.txt");
  REQUIRE(!e1);
  CHECK(e1.error().Format() ==
        "a.txt:1: expected 'DESC[PORT] DATA_ADDR[:PORT] [control=ADDR[:PORT]] [dev=IFNAME] [rdma=DEVICE:PORT]'\n"
        "  host0");
  auto e2 = ParseAgentsFile(r.fabric, "\nhost9 1.2.3.4\n", "a.txt");
  REQUIRE(!e2);
  CHECK(e2.error().Format() == "a.txt:2: no node has the description 'host9'\n  host9 1.2.3.4");
  auto e3 = ParseAgentsFile(r.fabric, "host0[1] 1.2.3.4\nhost0 1.2.3.5\n", "a.txt");
  REQUIRE(!e3);
  CHECK(e3.error().Format() == "a.txt:2: host0[1] is already listed on line 1\n  host0 1.2.3.5");
  // An empty or comment-only file would leave every probe unmeasured.
  for (std::string_view text : {"", "\n \n", "# agents to come\n"})
    CHECK(ParseAgentsFile(r.fabric, text, "a.txt").error().Format() ==
          "a.txt: lists no agent; expected 'DESC[PORT] DATA_ADDR[:PORT] [control=ADDR[:PORT]] [dev=IFNAME] "
          "[rdma=DEVICE:PORT]' lines");
}

TEST_CASE("agents file: switches, unknown ports, keys and values are refused") {
  auto r = testing::FatTree(2, 2, 2, 2);
  auto error = [&](std::string_view text) {
    auto a = ParseAgentsFile(r.fabric, text, "a.txt");
    REQUIRE(!a);
    CHECK(a.error().line > 0);
    return a.error().message;
  };
  CHECK(error("leaf0 1.2.3.4\n") == "'leaf0' is a switch, not an endpoint");
  CHECK(error("leaf0[1] 1.2.3.4\n") == "'leaf0' is a switch, not an endpoint");
  CHECK(error("host0[3] 1.2.3.4\n") == "'host0[3]': 'host0' has ports 1..2");
  CHECK(error("host0[x] 1.2.3.4\n") == "'host0[x]': expected a port number inside [ ]");
  CHECK(error("host0 a\nhost0 b\n") == "host0[1] is already listed on line 1");
  CHECK(error("host0 1.2.3.4 ctrl=1.2.3.5\n") == "unknown key 'ctrl'; expected control=, dev= or rdma=");
  CHECK(error("host0 1.2.3.4 contrl=1.2.3.5\n") ==
        "unknown key 'contrl' (did you mean 'control'?); expected control=, dev= or rdma=");
  CHECK(error("host0 1.2.3.4 netns=h0\n") == "unknown key 'netns'; expected control=, dev= or rdma=");
  CHECK(error("host0 1.2.3.4 eth0\n") == "expected key=value after the address, got 'eth0'");
  CHECK(error("host0 1.2.3.4 dev=\n") == "dev= needs a value");
  CHECK(error("host0 1.2.3.4 dev=a dev=b\n") == "dev= is given twice");
  CHECK(error("host0 1.2.3.4 control=a control=b\n") == "control= is given twice");
  CHECK(error("host0 1.2.3.4 control=a:0\n") == "control address 'a:0': the port must be a number in 1..65535");
  CHECK(error("host0 1.2.3.4 dev=a/b\n") ==
        "dev 'a/b': an interface name has at most 15 bytes, no '/', and is not '.' or '..'");
  CHECK(error("host0 1.2.3.4 dev=0123456789abcdef\n") ==
        "dev '0123456789abcdef': an interface name has at most 15 bytes, no '/', and is not '.' or '..'");
  CHECK(error("host0 1.2.3.4 rdma=mlx5_0\n") == "rdma 'mlx5_0': expected DEVICE:PORT, PORT a number in 1..255");
  CHECK(error("host0 1.2.3.4 rdma=mlx5_0:256\n") == "rdma 'mlx5_0:256': expected DEVICE:PORT, PORT a number in 1..255");
  CHECK(error("host0 1.2.3.4 rdma=:1\n") == "rdma ':1': expected DEVICE:PORT, PORT a number in 1..255");
}

TEST_CASE("agents file: values are quoted cut, addresses checked for form") {
  auto r = testing::FatTree(2, 2, 2);
  auto error = [&](std::string_view text) {
    auto a = ParseAgentsFile(r.fabric, text, "a.txt");
    REQUIRE(!a);
    return a.error().message;
  };
  CHECK(error(std::string(200, 'h') + " 1.2.3.4\n") ==
        "no node has the description '" + std::string(64, 'h') + "... (200 bytes)'");
  CHECK(error(std::string(100'000, 'h') + " 1.2.3.4\n") == "a word of 100000 bytes, expected at most 255");
  CHECK(error("host0\x1b[2J 1.2.3.4\n") == "no node has the description 'host0?[2J'");
  CHECK(error("host0 1.2.3.4:99999\n") == "address '1.2.3.4:99999': the port must be a number in 1..65535");
  CHECK(error("host0 1.2.3.4:\n") == "address '1.2.3.4:': missing port after ':'");
  CHECK(error("host0 ::1\n") == "address '::1': write IPv6 addresses as [ADDR]:PORT");
  CHECK(error("host0 [::1\n") == "address '[::1': missing ']' after the IPv6 address");
  CHECK(error("host0 [::1]x\n") == "address '[::1]x': expected ':PORT' after ']'");
  CHECK(error("host0 :5\n") == "address ':5': missing host");
  auto ok = ParseAgentsFile(r.fabric, "host0 [::1]:18520\r\nhost1\t127.0.0.1\n", "a.txt");
  REQUIRE(ok);
  CHECK(ok->Find(PortOf(r.fabric, "host1", 1))->data == "127.0.0.1:18520");
}

}  // namespace
}  // namespace fabricctl::sweep
