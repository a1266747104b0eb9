#include "probes/sweep/faults.h"

#include <doctest/doctest.h>

#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

TEST_CASE("fault specs: bad input is named") {
  auto r = testing::FatTree();
  CHECK(ParseFaultSpec(r.fabric, "leaf9[1]:bw=0.5", 1).error().message ==
        "fault 'leaf9[1]': no node has the description 'leaf9'");
  CHECK(ParseFaultSpec(r.fabric, "leaf1[1]:bw=2", 1).error().message ==
        "fault 'leaf1[1]:bw=2': expected bw=F (0..1), latency=US, loss=F (0..1), down, flaky=P (0..1], tx or rx "
        "after ':', got 'bw=2'");
  CHECK(ParseFaultSpec(r.fabric, "random:0", 1).error().message == "fault 'random:0': expected random:K with K >= 1");
  CHECK(ParseFaultSpec(r.fabric, "nonsense", 1).error().message ==
        "fault 'nonsense': expected desc[port]:EFFECT, endpoint:DESC:EFFECT or random:K");
  CHECK(ParseFaultSpec(r.fabric, "leaf1[1]:bw=0.5:bw=0.4", 1).error().message ==
        "fault 'leaf1[1]:bw=0.5:bw=0.4': 'bw=0.4' says again what an earlier word said");
  CHECK(ParseFaultSpec(r.fabric, "leaf1[1]:tx", 1).error().message ==
        "fault 'leaf1[1]:tx': expected bw=F, latency=US, loss=F, down or flaky=P");
  CHECK(ParseFaultSpec(r.fabric, "leaf1[1]:flaky=0", 1).error().message ==
        "fault 'leaf1[1]:flaky=0': expected bw=F (0..1), latency=US, loss=F (0..1), down, flaky=P (0..1], tx or rx "
        "after ':', got 'flaky=0'");
  CHECK(ParseFaultSpec(r.fabric, "random:2:bw=0.5:tx", 1).error().message ==
        "fault 'random:2:bw=0.5:tx': random links take 'oneway', not 'tx'");
  CHECK(ParseFaultSpec(r.fabric, "leaf1[1]:bw=0.5:oneway", 1).error().message ==
        "fault 'leaf1[1]:bw=0.5:oneway': a port's fault takes tx or rx for one direction");
  CHECK(ParseFaultSpec(r.fabric, "endpoint:host1:bw=0.5:flaky=0.5", 1).error().message ==
        "fault 'endpoint:host1:bw=0.5:flaky=0.5': endpoints take bw= or latency=");
  CHECK(ParseFaultSpec(r.fabric, "random:4", 9)->size() == 4);
}

TEST_CASE("fault specs: flaky and one-way faults") {
  auto r = testing::FatTree();
  const PortId port = *FindPortByName(r.fabric, "leaf1[2]");
  const PortId peer = r.fabric.port(port).peer;

  auto flaky = ParseFaultSpec(r.fabric, "leaf1[2]:flaky=0.3", 1);
  REQUIRE(flaky);
  REQUIRE(flaky->size() == 1);
  CHECK((*flaky)[0].kind == FaultKind::kBandwidth);
  CHECK((*flaky)[0].value == doctest::Approx(kFlakyBandwidthFactor));
  CHECK((*flaky)[0].probability == doctest::Approx(0.3));
  CHECK((*flaky)[0].channel == kNone);

  auto slow = ParseFaultSpec(r.fabric, "leaf1[2]:latency=2:flaky=0.5", 1);
  REQUIRE(slow);
  CHECK((*slow)[0].kind == FaultKind::kLatency);
  CHECK((*slow)[0].value == doctest::Approx(2));
  CHECK((*slow)[0].probability == doctest::Approx(0.5));

  auto tx = ParseFaultSpec(r.fabric, "leaf1[2]:bw=0.8:tx", 1);
  REQUIRE(tx);
  CHECK((*tx)[0].channel == port);
  CHECK((*tx)[0].link == r.fabric.port(port).link);
  auto rx = ParseFaultSpec(r.fabric, "leaf1[2]:rx:bw=0.8", 1);
  REQUIRE(rx);
  CHECK((*rx)[0].channel == peer);

  auto random = ParseFaultSpec(r.fabric, "random:6:flaky=0.3:oneway", 5);
  REQUIRE(random);
  REQUIRE(random->size() == 6);
  for (const Fault& f : *random) {
    CHECK(f.probability == doctest::Approx(0.3));
    CHECK((f.channel == r.fabric.link(f.link).a || f.channel == r.fabric.link(f.link).b));
  }
}

TEST_CASE("fault tables: one-way faults touch one channel, flaky faults none of the steady tables") {
  auto r = testing::FatTree();
  const PortId port = *FindPortByName(r.fabric, "leaf1[2]");
  const PortId peer = r.fabric.port(port).peer;
  FaultSet set;
  set.faults = *ParseFaultSpec(r.fabric, "leaf1[2]:bw=0.8:tx", 1);
  auto flaky = *ParseFaultSpec(r.fabric, "leaf2[1]:flaky=0.3", 1);
  set.faults.insert(set.faults.end(), flaky.begin(), flaky.end());
  set.Apply(r.fabric);
  CHECK(set.channel_bw_factor[port] == doctest::Approx(0.8));
  CHECK(set.channel_bw_factor[peer] == doctest::Approx(1.0));
  const PortId flaky_port = *FindPortByName(r.fabric, "leaf2[1]");
  CHECK(set.channel_bw_factor[flaky_port] == doctest::Approx(1.0));
  REQUIRE(set.intermittent_of(flaky_port).size() == 1);
  CHECK(set.intermittent_of(flaky_port)[0] == 1);
  CHECK(set.intermittent_of(r.fabric.port(flaky_port).peer).size() == 1);
  CHECK(set.intermittent_of(port).empty());
}

}  // namespace
}  // namespace fabricctl::sweep
