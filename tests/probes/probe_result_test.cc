#include "probes/probe_result.h"

#include <doctest/doctest.h>

#include <vector>

namespace fabricctl::probes {
namespace {

TEST_CASE("latency stats: nearest-rank percentiles, mean and population stdev") {
  std::vector<double> samples;
  for (int i = 1000; i >= 1; --i) samples.push_back(i);  // unsorted on purpose
  LatencyStats s = ComputeLatencyStats(64, samples);
  CHECK(s.message_size == 64);
  CHECK(s.iterations == 1000);
  CHECK(s.min_us == 1);
  CHECK(s.max_us == 1000);
  CHECK(s.p50_us == 500);
  CHECK(s.p99_us == 990);
  CHECK(s.p999_us == 999);
  CHECK(s.avg_us == doctest::Approx(500.5));
  CHECK(s.stdev_us == doctest::Approx(288.6750).epsilon(1e-6));
}

TEST_CASE("latency stats: small and empty sample sets") {
  std::vector<double> one = {7.5};
  LatencyStats s = ComputeLatencyStats(8, one);
  CHECK(s.p50_us == 7.5);
  CHECK(s.p999_us == 7.5);
  CHECK(s.stdev_us == 0);
  std::vector<double> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  s = ComputeLatencyStats(8, ten);
  CHECK(s.p50_us == 5);
  CHECK(s.p99_us == 10);  // fewer than 100 samples: p99 is the maximum
  s = ComputeLatencyStats(8, std::vector<double>{});
  CHECK(s.iterations == 0);
  CHECK(s.max_us == 0);
}

TEST_CASE("bandwidth stats: Gb/s are decimal gigabits of payload per second") {
  BandwidthStats s = ComputeBandwidthStats(131072, 1000, 131072000, 0.5);
  CHECK(s.gbps == doctest::Approx(131072000.0 * 8 / 0.5 / 1e9));
  CHECK(s.msg_rate_mps == doctest::Approx(0.002));
  CHECK(ComputeBandwidthStats(1, 0, 0, 0).gbps == 0);
}

TEST_CASE("probe report JSON has the documented, stable keys") {
  ProbeReport r{.peer = "198.18.0.1:18520", .transport = "tcp"};
  r.latency.push_back(ComputeLatencyStats(8, std::vector<double>{1.0, 2.0, 3.0}));
  r.bandwidth.push_back(ComputeBandwidthStats(65536, 10, 655360, 0.001));
  nlohmann::json j = ToJson(r);
  CHECK(j["schema"] == "fabricctl.probe.v1");
  CHECK(j["peer"] == "198.18.0.1:18520");
  CHECK(j["transport"] == "tcp");
  const auto& lat = j["latency"][0];
  for (const char* key :
       {"message_size", "iterations", "min_us", "p50_us", "avg_us", "p99_us", "p99_9_us", "max_us", "stdev_us"})
    CHECK_MESSAGE(lat.contains(key), key);
  CHECK(lat.size() == 9);
  CHECK(lat["p50_us"] == 2.0);
  const auto& bw = j["bandwidth"][0];
  for (const char* key : {"message_size", "messages", "bytes", "seconds", "gbps", "msg_rate_mps"})
    CHECK_MESSAGE(bw.contains(key), key);
  CHECK(bw["gbps"] == doctest::Approx(5.243));
}

}  // namespace
}  // namespace fabricctl::probes
