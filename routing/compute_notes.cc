#include "routing/compute_notes.h"

#include <fmt/format.h>

#include "routing/route_io.h"

namespace fabricctl {

void AddDumpNotes(ComputeOutcome& outcome, const RouteWriteOptions& files) {
  if (!files.dump || !outcome.wrote) return;
  for (const SubnetRoutes& r : outcome.routed.routes.subnets)
    if (r.num_vls > 1)
      outcome.routed.notes.push_back(fmt::format(
          "subnet {}: {} is for inspection and for fabricctl (with sl-table.txt), not for OpenSM's file engine: it "
          "holds the LFTs of routes on {} VLs without their SL/VL scheme (`deploy --via opensm` refuses them)",
          outcome.fabric.subnets()[r.subnet].name, DumpFileName(outcome.fabric, r.subnet), r.num_vls));
}

}  // namespace fabricctl
