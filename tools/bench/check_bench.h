#pragma once
// `fabricctl check` live against ibsim: discovery, two counter readings, SMInfo and LFT
// read-back with the installed routes verified, timed against ibnetdiscover +
// ibqueryerrors + dump_fts run one after the other on the same simulated fabric.
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunCheckBench(const Options& options);
// The collection itself, run by RunCheckBench under libumad2sim; prints its stages as JSON.
int RunCheckCollect(const Options& options);

}  // namespace fabricctl::bench
