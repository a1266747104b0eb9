// Counters: the thresholds parser (unit) and PMA reads against ibsim (ibsim_counters).
#include "fabric/counters.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/ibsim_harness.h"

namespace fabricctl {

TEST_CASE("thresholds file: ibqueryerrors names, comments, strict errors") {
  auto t = ParseThresholds(
      "# Define thresholds\nSymbolErrorCounter=10\n\n VL15Dropped = 100 # trailing\nPortXmitWait=1000", "th");
  REQUIRE(t);
  CHECK(t->limit[size_t(Counter::kSymbolErrorCounter)] == 10);
  CHECK(t->limit[size_t(Counter::kVL15Dropped)] == 100);
  CHECK(t->limit[size_t(Counter::kPortXmitWait)] == 1000);
  CHECK(t->limit[size_t(Counter::kPortRcvErrors)] == 0);

  auto typo = ParseThresholds("SymbolErrorCounter=1\nPortRcvError=5\n", "th");
  REQUIRE(!typo);
  CHECK(typo.error().Format() ==
        "th:2: unknown error counter 'PortRcvError' (did you mean 'PortRcvErrors'?)\n"
        "  PortRcvError=5\n  ^");
  auto bad = ParseThresholds("LinkDownedCounter=ten\n", "th");
  REQUIRE(!bad);
  CHECK(bad.error().message == "threshold of LinkDownedCounter must be a non-negative integer, not 'ten'");
  CHECK(bad.error().line == 1);
  auto no_eq = ParseThresholds("LinkDownedCounter 3\n", "th");
  REQUIRE(!no_eq);
  CHECK(no_eq.error().message == "expected Name=value");
  // Traffic counters have no thresholds in ibqueryerrors either.
  CHECK(!ParseThresholds("PortXmitData=1\n", "th"));
}

TEST_CASE("thresholds file: overflow, repeats and hostile values are errors naming the line") {
  auto big = ParseThresholds("# x\nLinkDownedCounter=18446744073709551616\n", "th");
  REQUIRE(!big);
  CHECK(big.error().line == 2);
  CHECK(big.error().message ==
        "threshold of LinkDownedCounter is above the largest counter value 18446744073709551615");
  CHECK(ParseThresholds("LinkDownedCounter=18446744073709551615\n", "th"));
  auto twice = ParseThresholds("LinkDownedCounter=1\nPortXmitWait=2\nLinkDownedCounter=3\n", "th");
  REQUIRE(!twice);
  CHECK(twice.error().line == 3);
  CHECK(twice.error().message == "LinkDownedCounter is already set on line 1");
  auto escape = ParseThresholds("Link\x1b[2JDowned=1\n", "th");
  REQUIRE(!escape);
  CHECK(escape.error().message == "unknown error counter 'Link?[2JDowned'");
  auto long_value = ParseThresholds("LinkDownedCounter=" + std::string(100000, 'x') + "\n", "th");
  REQUIRE(!long_value);
  CHECK(long_value.error().message.size() < 200);
  CHECK(long_value.error().message.ends_with("... (100000 bytes)'"));
}

TEST_CASE("thresholds file: the PortXmitWait share and tick, strictly") {
  auto t = ParseThresholds("PortXmitWait=1000\nPortXmitWaitShare = 0.1\nPortXmitWaitTickSymbols=8 # Quantum\n", "th");
  REQUIRE(t);
  CHECK(t->xmit_wait_share == doctest::Approx(0.1));
  CHECK(t->xmit_wait_tick_symbols == 8);
  CHECK(t->limit[size_t(Counter::kPortXmitWait)] == 1000);  // the raw count still works
  auto defaults = ParseThresholds("# nothing\n", "th");
  REQUIRE(defaults);
  CHECK(defaults->xmit_wait_share == doctest::Approx(0.05));
  CHECK(defaults->xmit_wait_tick_symbols == 1);

  auto percent = ParseThresholds("SymbolErrorCounter=1\nPortXmitWaitShare=5%\n", "th");
  REQUIRE(!percent);
  CHECK(percent.error().Format() ==
        "th:2: PortXmitWaitShare must be a share from 0 to 1 (0.05: 5%), not '5%'\n"
        "  PortXmitWaitShare=5%\n                    ^");
  for (std::string_view bad : {"1.5", "-0.1", "nan", "", "0.1 0.2"}) {
    CAPTURE(bad);
    auto r = ParseThresholds("PortXmitWaitShare=" + std::string(bad) + "\n", "th");
    REQUIRE(!r);
    CHECK(r.error().line == 1);
  }
  for (std::string_view bad : {"0", "257", "7.5", "x"}) {
    CAPTURE(bad);
    auto r = ParseThresholds("\nPortXmitWaitTickSymbols=" + std::string(bad) + "\n", "th");
    REQUIRE(!r);
    CHECK(r.error().line == 2);
    CHECK(
        r.error().message.starts_with("PortXmitWaitTickSymbols must be a whole number of symbol times from 1 to 256"));
  }
  CHECK(ParseThresholds("PortXmitWaitTickSymbols=256\nPortXmitWaitShare=1\n", "th"));
  auto typo = ParseThresholds("PortXmitWaitShar=0.1\n", "th");
  REQUIRE(!typo);
  CHECK(typo.error().message == "unknown error counter 'PortXmitWaitShar' (did you mean 'PortXmitWaitShare'?)");
  auto twice = ParseThresholds("PortXmitWaitShare=0.1\nPortXmitWaitShare=0.2\n", "th");
  REQUIRE(!twice);
  CHECK(twice.error().message == "PortXmitWaitShare is already set on line 1");
}

TEST_CASE("counter names round-trip") {
  for (size_t i = 0; i < kNumCounters; ++i) {
    auto c = static_cast<Counter>(i);
    CHECK(ParseCounterName(CounterName(c)) == c);
  }
}

}  // namespace fabricctl

namespace fabricctl::testing {

TEST_SUITE("ibsim_counters") {
  TEST_CASE("a counter set with PerformanceSet crosses its threshold; --reset clears it") {
    if (!IbsimAvailable()) return;
    Ibsim sim("/usr/share/doc/ibsim-utils/net-examples/net.2sw2path4hca");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    // Without LIDs there is no PMA to ask: every port is reported unread, nothing crashes.
    auto no_lids = sim.Fabricctl("counters --json");
    CHECK(no_lids.exit_code == 1);
    CHECK(nlohmann::json::parse(no_lids.out).at("problems").size() == 12);

    auto sm = sim.Run("opensm -o -f " + sim.dir() + "/opensm.log");
    REQUIRE_MESSAGE(sm.exit_code == 0, sm.err);
    auto clean = sim.Fabricctl("counters");
    INFO(clean.out, clean.err);
    CHECK(clean.exit_code == 0);
    CHECK(clean.out.find("12 ports read, 0 over threshold, 0 unread") != std::string::npos);

    sim.Console("PerformanceSet \"Switch2\"[3] PortCounters.SymbolErrorCounter=17");
    auto over = sim.Fabricctl("counters --json");
    CHECK(over.exit_code == 1);
    auto j = nlohmann::json::parse(over.out);
    CHECK(j.at("ports_over_threshold") == 1);
    bool found = false;
    for (const auto& p : j.at("ports")) {
      if (p.at("node") == "Switch2" && p.at("port") == 3) {
        found = true;
        CHECK(p.at("counters").at("SymbolErrorCounter") == 17);
        CHECK(p.at("over_threshold") == nlohmann::json::array({"SymbolErrorCounter"}));
        CHECK(p.at("extended") == true);
      } else {
        CHECK(p.at("over_threshold").empty());
      }
    }
    CHECK(found);

    std::ofstream(sim.dir() + "/th") << "SymbolErrorCounter=20\n";
    CHECK(sim.Fabricctl("counters --thresholds " + sim.dir() + "/th").exit_code == 0);
    std::ofstream(sim.dir() + "/th") << "SymbolErrorCounter=16\n";
    auto text = sim.Fabricctl("counters --thresholds " + sim.dir() + "/th");
    INFO(text.out, text.err);
    CHECK(text.exit_code == 1);
    // OpenSM picks the LIDs: the line names whichever Switch2 got.
    const size_t line = text.out.find("Switch2[3] (GUID 0x200001 lid ");
    REQUIRE(line != std::string::npos);
    const std::string rest = text.out.substr(line, text.out.find('\n', line) - line);
    CHECK(rest.find("): [SymbolErrorCounter == 17 > 16]") != std::string::npos);

    CHECK(sim.Fabricctl("counters --reset").exit_code == 1);  // reports, then resets
    CHECK(sim.Fabricctl("counters").exit_code == 0);
  }

  TEST_CASE("MAD loss on a port shows up in PortRcvErrors") {
    if (!IbsimAvailable()) return;
    Ibsim sim("/usr/share/doc/ibsim-utils/net-examples/net.2sw2path4hca");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    REQUIRE(sim.Run("opensm -o -f " + sim.dir() + "/opensm.log").exit_code == 0);
    sim.Console("Error \"Switch2\"[3] 50");
    // Discovery sends MADs through Switch2[3]; ibsim counts each drop as a receive error.
    auto r = sim.Fabricctl("counters --json --timeout 30 --retries 10");
    auto j = nlohmann::json::parse(r.out);
    uint64_t rcv_errors = 0;
    for (const auto& p : j.at("ports"))
      if (p.at("node") == "Switch2" && p.at("port") == 3) rcv_errors = p.at("counters").at("PortRcvErrors");
    CHECK(rcv_errors > 0);
  }
}

}  // namespace fabricctl::testing
