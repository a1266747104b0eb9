#include "probes/check/check_counters.h"

#include <doctest/doctest.h>

#include "fabric/fabric_builder.h"
#include "probes/check/report_prometheus.h"

namespace fabricctl::check {
namespace {

// A switch with two hosts: h-edr on a 4xEDR link (0.32 ns symbols), h-sdr on 4xSDR (4 ns).
struct TwoSpeeds {
  Fabric fabric;
  PortId edr = kNone;  // the hosts' ports
  PortId sdr = kNone;
};

TwoSpeeds MakeTwoSpeeds() {
  FabricBuilder b;
  NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 0x100, .description = "sw"});
  NodeId edr = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x200, .description = "h-edr"});
  NodeId sdr = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x300, .description = "h-sdr"});
  REQUIRE(b.Connect(sw, 1, edr, 1, {.width = LinkWidth::k4x, .speed = LinkSpeed::kEDR}));
  REQUIRE(b.Connect(sw, 2, sdr, 1, {.width = LinkWidth::k4x, .speed = LinkSpeed::kSDR}));
  auto f = b.Build();
  REQUIRE(f);
  TwoSpeeds t{.fabric = std::move(*f)};
  t.edr = t.fabric.port_id(*t.fabric.FindByDescription("h-edr"), 1);
  t.sdr = t.fabric.port_id(*t.fabric.FindByDescription("h-sdr"), 1);
  return t;
}

PortCounterReading Wait(PortId p, uint64_t xmit_wait) {
  PortCounterReading r{.port = p};
  r.value[size_t(Counter::kPortXmitWait)] = xmit_wait;
  return r;
}

// Both hosts read twice `seconds` apart, their PortXmitWait going from `*_before` to `*_after`.
CheckReport Judge(const TwoSpeeds& t, double seconds, std::pair<uint64_t, uint64_t> edr,
                  std::pair<uint64_t, uint64_t> sdr, const CheckOptions& options = {}) {
  CounterInterval c{.interval_seconds = seconds};
  c.before.ports = {Wait(t.edr, edr.first), Wait(t.sdr, sdr.first)};
  c.after.ports = {Wait(t.edr, edr.second), Wait(t.sdr, sdr.second)};
  Places places(t.fabric);
  CheckReport report;
  CheckCounters(Snapshot{.fabric = &t.fabric, .counters = c}, options, places, report);
  return report;
}

TEST_CASE("xmit wait share: ticks of one symbol time at the lane's data rate, over the interval") {
  // EDR: 25 Gb/s a lane after 64b/66b, a byte in 0.32 ns; 781,250,000 ticks are 0.25 s.
  CHECK(*XmitWaitShare(781'250'000, LinkSpeed::kEDR, 1, 1.0) == doctest::Approx(0.25));
  CHECK(*XmitWaitShare(781'250'000, LinkSpeed::kEDR, 1, 10.0) == doctest::Approx(0.025));
  // SDR: 2 Gb/s a lane after 8b/10b, a byte in 4 ns.
  CHECK(*XmitWaitShare(25'000'000, LinkSpeed::kSDR, 1, 1.0) == doctest::Approx(0.1));
  CHECK(*XmitWaitShare(25'000'000, LinkSpeed::kSDR, 8, 1.0) == doctest::Approx(0.8));
  CHECK(*XmitWaitShare(0, LinkSpeed::kSDR, 1, 1.0) == 0.0);
  // More waiting than the interval holds (a device with longer ticks than assumed) is capped.
  CHECK(*XmitWaitShare(1'000'000'000, LinkSpeed::kSDR, 1, 1.0) == 1.0);
  CHECK(!XmitWaitShare(100, LinkSpeed::kNone, 1, 1.0));
  CHECK(!XmitWaitShare(100, LinkSpeed::kEDR, 1, 0.0));
}

TEST_CASE("xmit wait share: a port over the share is one congested finding, with the share in evidence") {
  TwoSpeeds t = MakeTwoSpeeds();
  // h-edr waits a quarter of the second; h-sdr 1% (2,500,000 ticks of 4 ns).
  CheckReport r = Judge(t, 1.0, {1000, 1000 + 781'250'000}, {0, 2'500'000});
  REQUIRE(r.findings.size() == 1);
  const Finding& f = r.findings[0];
  CHECK(f.kind == "counters");
  CHECK(f.severity == Severity::kWarning);
  CHECK(f.where == "h-edr[1]");
  CHECK(f.summary.find("congested") != std::string::npos);
  CHECK(f.summary.find("25.0%") != std::string::npos);
  CHECK(f.evidence["xmit_wait_share"].get<double>() == doctest::Approx(0.25));
  CHECK(f.evidence["xmit_wait_share_threshold"].get<double>() == doctest::Approx(0.05));
  CHECK(f.evidence["xmit_wait_delta"] == 781'250'000);
  // Raw counts stay unjudged without a PortXmitWait limit.
  CHECK(f.evidence["over_threshold"].empty());

  // Under the share: no finding.
  CHECK(Judge(t, 1.0, {1000, 1000 + 7'812'500}, {0, 2'500'000}).findings.empty());
  // A share of 1 turns the judgement off.
  CheckOptions off;
  off.thresholds.xmit_wait_share = 1;
  CHECK(Judge(t, 1.0, {0, 781'250'000}, {0, 0}, off).findings.empty());
}

TEST_CASE("xmit wait share: the tick length counts, resets count from the reset, saturation is unknown") {
  TwoSpeeds t = MakeTwoSpeeds();
  // h-sdr's 2,500,000 ticks: 1% at one symbol a tick, 8% at eight.
  CheckOptions quantum;
  quantum.thresholds.xmit_wait_tick_symbols = 8;
  CheckReport q = Judge(t, 1.0, {0, 0}, {0, 2'500'000}, quantum);
  REQUIRE(q.findings.size() == 1);
  CHECK(q.findings[0].where == "h-sdr[1]");
  CHECK(q.findings[0].evidence["xmit_wait_share"].get<double>() == doctest::Approx(0.08));
  CHECK(q.findings[0].evidence["xmit_wait_tick_symbols"] == 8);

  // Reset in between: the increase counts from the reset, as for every other counter.
  CheckReport reset = Judge(t, 1.0, {2'000'000'000, 781'250'000}, {0, 0});
  REQUIRE(reset.findings.size() == 1);
  CHECK(reset.findings[0].evidence["reset"] == true);
  CHECK(reset.findings[0].evidence["xmit_wait_share"].get<double>() == doctest::Approx(0.25));

  // Saturated before the interval: the counter no longer counts, so there is no share.
  uint64_t max = CounterMax(Counter::kPortXmitWait, false);
  PortCounterReading stuck = Wait(t.edr, max);
  CHECK(!PortXmitWaitShare(t.fabric, &stuck, stuck, 1, 1.0));
  PortCounterReading before = Wait(t.edr, max - 781'250'000);
  CHECK(*PortXmitWaitShare(t.fabric, &before, stuck, 1, 1.0) == doctest::Approx(0.25));
  // One reading: no interval, no share.
  CHECK(!PortXmitWaitShare(t.fabric, nullptr, stuck, 1, 1.0));
}

TEST_CASE("xmit wait share: Prometheus has a share per port read twice") {
  TwoSpeeds t = MakeTwoSpeeds();
  CounterInterval c{.interval_seconds = 1.0};
  c.before.ports = {Wait(t.edr, 0), Wait(t.sdr, 0)};
  c.after.ports = {Wait(t.edr, 781'250'000), Wait(t.sdr, 2'500'000)};
  Snapshot s{.fabric = &t.fabric, .counters = c};
  std::string prom = PrometheusCheckMetrics(s, {}, {}, 0);
  CHECK(prom.find("# TYPE fabricctl_check_port_xmit_wait_share gauge") != std::string::npos);
  CHECK(prom.find("node=\"h-edr\",guid=\"0x0000000000000200\",port=\"1\"} 0.25\n") != std::string::npos);
  CHECK(prom.find("node=\"h-sdr\",guid=\"0x0000000000000300\",port=\"1\"} 0.01\n") != std::string::npos);
}

}  // namespace
}  // namespace fabricctl::check
