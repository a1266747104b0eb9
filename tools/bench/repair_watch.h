#pragma once
// The measuring half of the route manager bench (manage_bench.h), run under libumad2sim
// next to the subnet manager being measured: it discovers the simulated subnet and reads
// every installed LFT, fails a leaf-spine cable or a spine switch through ibsim's console,
// then re-reads (over directed routes that avoid the failure) only the LFT blocks that
// forwarded into the dead ports until none does. That moment is the time to repair. It
// then waits for the tables to settle, reads them all again on a fresh discovery and judges
// them with the verifier. Prints one JSON object (and writes it to --out).
//
//   fabricctl-bench repair-watch -- --console FIFO --fail link|switch [--out FILE]
//                                   [--timeout SECONDS] [--settle SECONDS]
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunRepairWatch(const Options& options);

}  // namespace fabricctl::bench
