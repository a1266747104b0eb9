#include "fabric/fabric_builder.h"

#include <doctest/doctest.h>

#include <deque>
#include <vector>

#include "tests/fabric/topology_test_util.h"

namespace fabricctl {
namespace {

// Subnets the slow, obvious way: breadth-first over ports (a link joins its ends, a switch
// joins all its ports), numbered in the order of their smallest port id.
std::vector<SubnetId> ReferenceSubnets(const Fabric& f) {
  auto in_subnet = [&](PortId p) {
    const Port& port = f.port(p);
    return f.is_switch(port.node) || (port.number != 0 && port.peer != kNone);
  };
  std::vector<SubnetId> out(f.num_port_slots(), kNone);
  SubnetId next = 0;
  for (PortId start = 0; start < f.num_port_slots(); ++start) {
    if (!in_subnet(start) || out[start] != kNone) continue;
    std::deque<PortId> queue{start};
    out[start] = next;
    while (!queue.empty()) {
      PortId p = queue.front();
      queue.pop_front();
      std::vector<PortId> next_ports;
      if (f.port(p).peer != kNone) next_ports.push_back(f.port(p).peer);
      NodeId n = f.port(p).node;
      if (f.is_switch(n))
        for (unsigned q = 0; q <= f.node(n).num_ports; ++q) next_ports.push_back(f.port_id(n, q));
      for (PortId q : next_ports)
        if (out[q] == kNone) {
          out[q] = next;
          queue.push_back(q);
        }
    }
    ++next;
  }
  return out;
}

TEST_CASE("Build: subnets match a breadth-first reference and are numbered by smallest port") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Fabric f = testing::RandomFabric(seed);
    std::vector<SubnetId> want = ReferenceSubnets(f);
    size_t count = 0;
    for (SubnetId s : want)
      if (s != kNone) count = std::max<size_t>(count, s + 1);
    REQUIRE(f.subnets().size() == count);
    for (PortId p = 0; p < f.num_port_slots(); ++p) REQUIRE(f.subnet_of(p) == want[p]);
    for (const Subnet& s : f.subnets()) {
      for (NodeId sw : s.switches) CHECK(f.subnet_of(f.port_id(sw, 0)) == s.id);
      for (PortId p : s.endpoint_ports) CHECK(f.subnet_of(p) == s.id);
    }
  }
}

}  // namespace
}  // namespace fabricctl
