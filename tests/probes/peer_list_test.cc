#include "probes/peer_list.h"

#include <doctest/doctest.h>

#include "probes/socket_util.h"

namespace fabricctl::probes {
namespace {

std::string ErrorOf(std::string_view text) {
  auto r = ParsePeerList(text, "agents.txt");
  return r ? std::string("accepted") : r.error().Format();
}

TEST_CASE("peer list: the DATA_ADDR of every line, compared in canonical form") {
  auto peers = ParsePeerList(
      "# host a: two NICs, one agent\n"
      "host-a[1] 198.18.0.1 control=198.19.0.1 dev=eth1 rdma=mlx5_0:1\n"
      "host-a[2] 198.18.0.2:18600 control=198.19.0.1   # second NIC\n"
      "\"host b\" [fd00::0:2] rdma=mlx5_1:1\n"
      "HOST-C Agent-C.example:7\n",
      "agents.txt");
  REQUIRE_MESSAGE(peers, (peers ? std::string() : peers.error().Format()));
  CHECK(peers->size() == 4);
  CHECK(peers->Contains("198.18.0.1"));
  CHECK(peers->Contains("198.18.0.1:18520"));
  CHECK_FALSE(peers->Contains("198.18.0.1:18521"));
  CHECK(peers->Contains("198.18.0.2:18600"));
  CHECK_FALSE(peers->Contains("198.18.0.2"));
  CHECK(peers->Contains("[fd00::2]:18520"));
  CHECK(peers->Contains("agent-c.example:7"));
  CHECK_FALSE(peers->Contains("198.19.0.1"));  // a control address is no probe target
  CHECK_FALSE(peers->Contains("198.18.0.1:x"));
}

TEST_CASE("peer list: strict, with file:line errors") {
  CHECK(ErrorOf("a 198.18.0.1 netns=ns1\n")
            .starts_with("agents.txt:1: unknown key 'netns' (known: control, dev, rdma)\n  a 198.18.0.1 netns=ns1"));
  CHECK(ErrorOf("a[1] 198.18.0.1\na[1] 198.18.0.2\n")
            .starts_with("agents.txt:2: 'a[1]' is listed twice (a port appears on two lines)"));
  CHECK(ErrorOf("a 198.18.0.1\na[2] 198.18.0.2\n").starts_with("agents.txt:2: 'a[2]' is listed twice"));
  CHECK(ErrorOf("a[0] 198.18.0.1\n").starts_with("agents.txt:1: port '0' is not a port number in 1..255"));
  CHECK(ErrorOf("a 198.18.0.1:70000\n")
            .starts_with("agents.txt:1: address '198.18.0.1:70000': the port must be a number in 1..65535"));
  CHECK(ErrorOf("a fd00::1\n").starts_with("agents.txt:1: address 'fd00::1': write IPv6 addresses as [ADDR]:PORT"));
  CHECK(ErrorOf("a 198.18.0.1 control=[fd00::1\n").starts_with("agents.txt:1: control address"));
  CHECK(ErrorOf("a 198.18.0.1 dev=a/b\n").starts_with("agents.txt:1: dev 'a/b' is not an interface name"));
  CHECK(ErrorOf("a 198.18.0.1 rdma=mlx5_0\n").starts_with("agents.txt:1: rdma= expects DEVICE:PORT"));
  CHECK(ErrorOf("a 198.18.0.1 dev=x dev=y\n").starts_with("agents.txt:1: dev= given twice"));
  CHECK(ErrorOf("a\n").starts_with("agents.txt:1: expected 'DESC[PORT] DATA_ADDR"));
  CHECK(ErrorOf("\"a b 198.18.0.1\n").starts_with("agents.txt:1: missing '\"' after the quoted description"));
  CHECK(ErrorOf("# nothing\n").starts_with("agents.txt: lists no agent"));
}

TEST_CASE("HostPortProblem: the forms an agent address may take, without resolving") {
  CHECK(HostPortProblem("198.18.0.1").empty());
  CHECK(HostPortProblem("host.example:18520").empty());
  CHECK(HostPortProblem("[fd00::1]").empty());
  CHECK(HostPortProblem("[fd00::1]:1").empty());
  CHECK(HostPortProblem("[fd00::1") == "missing ']' after the IPv6 address");
  CHECK(HostPortProblem("[fd00::1]x") == "expected ':PORT' after ']'");
  CHECK(HostPortProblem("[fd00::1]:") == "missing port after ':'");
  CHECK(HostPortProblem("a:") == "missing port after ':'");
  CHECK(HostPortProblem(":5") == "missing host");
  CHECK(HostPortProblem("a:0") == "the port must be a number in 1..65535");
}

}  // namespace
}  // namespace fabricctl::probes
