// libFuzzer target for the agents file reader (`sweep run --agents`, version 2), against a
// small fat tree: never crash; an error names the file and a line (or the whole file when
// it lists no agent); every port an accepted file names is an endpoint port with a data
// address and a control address that carry a port.
// Run: bash tools/fuzz/run-fuzz.sh 60 agents_file_fuzz (seeds in tests/fuzz/agents_file_fuzz/).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/sweep/agents_file.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fabricctl::Fabric& fabric = fabricctl::fuzz::SmallFatTree().fabric;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto agents = fabricctl::sweep::ParseAgentsFile(fabric, text, "fuzz");
  if (!fabricctl::fuzz::Parsed(agents, fabricctl::fuzz::ErrorPlace::kFileOrLine)) return 0;
  size_t named = 0;
  for (fabricctl::PortId port = 0; port < fabric.num_port_slots(); ++port) {
    const fabricctl::sweep::PortAgent* agent = agents->Find(port);
    if (!agent) continue;
    ++named;
    const fabricctl::Port& p = fabric.port(port);
    if (fabric.is_switch(p.node) || p.number == 0) __builtin_trap();
    if (agent->data.empty() || agent->host.empty() || agent->control.find(':') == std::string::npos) __builtin_trap();
  }
  if (named == 0) __builtin_trap();  // a file naming no port is an error
  return 0;
}
