#include "routing/trace.h"

#include <doctest/doctest.h>

#include "routing/torus.h"
#include "tests/routing/route_check_fixtures.h"

namespace fabricctl {
namespace {

using testing::LidOf;
using testing::SetEntry;
using testing::Skeleton;

std::string Render(const Fabric& f, const Trace& t) {
  std::string s;
  for (const TraceHop& h : t.hops) s += fmt::format("{}->{}/{} ", f.PortName(h.from), f.PortName(h.to), h.vl);
  return s + std::string(ToString(t.end));
}

TEST_CASE("trace: hop by hop with ports, and the fault where a path breaks") {
  Fabric f = testing::Ring(4);
  RouteSet rs = Skeleton(f);
  testing::RingShortestPaths(f, rs, 4);
  PortId h0 = f.port_id(*f.FindByDescription("h0_0"), 1);
  auto t = TraceRoute(f, rs, h0, LidOf(f, rs, "h2_0"));
  REQUIRE(t);
  CHECK(Render(f, *t) == "h0_0[1]->s0[1]/0 s0[2]->s1[3]/0 s1[2]->s2[3]/0 s2[1]->h2_0[1]/0 delivered");

  SetEntry(f, rs, "s1", LidOf(f, rs, "h2_0"), 3);
  t = TraceRoute(f, rs, h0, LidOf(f, rs, "h2_0"));
  REQUIRE(t);
  CHECK(t->end == TraceEnd::kLoop);
  CHECK(t->problem == "returns to s0");

  SetEntry(f, rs, "s1", LidOf(f, rs, "h2_0"), kNoRoute);
  t = TraceRoute(f, rs, h0, LidOf(f, rs, "h2_0"));
  CHECK(t->end == TraceEnd::kNoEntry);
  CHECK(t->problem == fmt::format("s1 has no LFT entry for LID {}", LidOf(f, rs, "h2_0")));

  // To a switch LID.
  t = TraceRoute(f, rs, h0, LidOf(f, rs, "s0"));
  REQUIRE(t);
  CHECK(Render(f, *t) == "h0_0[1]->s0[1]/0 delivered");
  CHECK_FALSE(TraceRoute(f, rs, h0, 999));
}

TEST_CASE("trace: the VL changes at the dateline of a torus") {
  Fabric f = testing::Torus({5}, 1);  // a ring of 5 as a 1D torus
  RouteSet rs = Skeleton(f);
  REQUIRE(testing::RouteAll(*MakeTorusEngine(), f, rs, {}).status == EngineStatus::kOk);
  PortId src = f.port_id(*f.FindByDescription("h4_0"), 1);
  auto t = TraceRoute(f, rs, src, LidOf(f, rs, "h1_0"));  // 4 -> 0 -> 1 crosses the dateline
  REQUIRE(t);
  CHECK(t->sl == 1);
  CHECK(Render(f, *t) == "h4_0[1]->t4[1]/0 t4[2]->t0[3]/1 t0[2]->t1[3]/1 t1[1]->h1_0[1]/0 delivered");
  t = TraceRoute(f, rs, f.port_id(*f.FindByDescription("h1_0"), 1), LidOf(f, rs, "h3_0"));
  REQUIRE(t);
  CHECK(t->sl == 0);
  CHECK(Render(f, *t) == "h1_0[1]->t1[1]/0 t1[2]->t2[3]/0 t2[2]->t3[3]/0 t3[1]->h3_0[1]/0 delivered");
}

TEST_CASE("trace: endpoints by description, GUID or LID") {
  Fabric f = testing::Ring(3);
  RouteSet rs = Skeleton(f);
  PortId h1 = f.port_id(*f.FindByDescription("h1_0"), 1);
  CHECK(*ResolvePort(f, rs, "h1_0") == h1);
  CHECK(*ResolvePort(f, rs, fmt::format("0x{:x}", f.node(f.port(h1).node).guid)) == h1);
  CHECK(*ResolvePort(f, rs, fmt::format("{}", rs.port_lid[h1])) == h1);
  CHECK(*ResolvePort(f, rs, fmt::format("lid:{}", rs.port_lid[h1])) == h1);
  CHECK(*ResolvePort(f, rs, "s2") == f.port_id(*f.FindByDescription("s2"), 0));
  CHECK(ResolvePort(f, rs, "nosuch").error().message == "'nosuch' is not a node description, GUID (0x...) or LID");
  CHECK(ResolvePort(f, rs, "0x999999").error().message == "'0x999999': no node or port has GUID 0x0000000000999999");
  CHECK(ResolvePort(f, rs, "77").error().message == "'77': no port has LID 77");
}

}  // namespace
}  // namespace fabricctl

namespace fabricctl {
namespace {

TEST_CASE("trace: a port to its own LID takes no hop") {
  FabricBuilder b;
  NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 0x20, .description = "sw"});
  NodeId h0 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x10, .description = "h0"});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x11, .description = "h1"});
  REQUIRE(b.Connect(h0, 1, sw, 1, LinkRate{}));
  REQUIRE(b.Connect(h1, 1, sw, 2, LinkRate{}));
  auto f = b.Build();
  REQUIRE(f);
  RouteSet rs;
  rs.port_lid.assign(f->num_port_slots(), 0);
  SubnetRoutes r;
  r.subnet = 0;
  r.switches = {sw};
  r.lid_owner = {kNone, f->port_id(sw, 0), f->port_id(h0, 1), f->port_id(h1, 1)};
  for (Lid l = 1; l < 4; ++l) rs.port_lid[r.lid_owner[l]] = l;
  r.lft = {kNoRoute, 0, 1, 2};
  rs.subnets.push_back(r);
  auto self = TraceRoute(*f, rs, f->port_id(h0, 1), 2);
  REQUIRE(self);
  CHECK(self->hops.empty());
  CHECK(self->end == TraceEnd::kDelivered);
  auto other = TraceRoute(*f, rs, f->port_id(h0, 1), 3);
  REQUIRE(other);
  CHECK(other->hops.size() == 2);
}

}  // namespace
}  // namespace fabricctl
