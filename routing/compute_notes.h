#pragma once
// Notes `route compute` adds to its outcome after writing the route files: what an operator
// must know about the files before handing them on.
#include "routing/route_compute.h"

namespace fabricctl {

// When OpenSM LFT dumps were written for routes on several VLs: one note per such subnet
// that the dump holds the LFTs without their SL/VL scheme, so OpenSM's file engine must not
// load it (`deploy --via opensm` refuses it). Appended to outcome.routed.notes.
void AddDumpNotes(ComputeOutcome& outcome, const RouteWriteOptions& files);

}  // namespace fabricctl
