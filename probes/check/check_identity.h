#pragma once
// Identity findings: `duplicate-guid` (two nodes or ports with one GUID), `duplicate-lid`
// (one LID answered by two ports), `zero-lid` (an active port without a LID). Judged on the
// readings taken before GUID deduplication (Snapshot::identities).
#include <string_view>
#include <vector>

#include "probes/check/finding.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

// The readings a topology file shows: every switch once (port 0, the switch LID) and every
// connected CA or router port, without a path. Files whose readers refuse duplicate node
// GUIDs can still hold duplicate port GUIDs and LIDs.
std::vector<IdentityReading> IdentitiesFromFabric(const Fabric& fabric);

void CheckIdentity(const Snapshot& snapshot, CheckReport& report);

}  // namespace fabricctl::check
