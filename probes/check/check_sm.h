#pragma once
// `sm` findings from the SMInfo of every subnet manager port: no master, more than one
// master, a standby that outranks the master, an SM stuck discovering or not active.
#include "probes/check/finding.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

void CheckSubnetManagers(const Snapshot& snapshot, CheckReport& report);

}  // namespace fabricctl::check
