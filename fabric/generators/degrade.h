#pragma once
// Takes a seeded share or count of switches and switch-to-switch cables out of a generated
// fabric, and trains a share of the remaining switch cables at a lower rate: the fabric as
// it runs, not as it was drawn. Every generator takes these parameters (fail_links,
// fail_switches, slow_links, slow_rate, seed); `topo gen --list` shows them once.
//
// What stays true of the result: each connected part of the switch fabric stays connected
// (a cable or switch whose loss would split it is not chosen), at least one switch of each
// part remains, and endpoints left without any cable are dropped, as discovery would not
// see them. Nodes keep their GUIDs and names, so the same seed gives the same fabric byte
// for byte.
#include <cstdint>
#include <span>
#include <string>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "fabric/generators/params.h"

namespace fabricctl::gen {

// "0.03" or "3%": a share of the candidates; "12": a count.
struct Amount {
  std::string text;  // as given, for messages
  bool is_share = false;
  double share = 0;
  uint64_t count = 0;
  bool none() const { return is_share ? share == 0 : count == 0; }
  // The count this amount takes out of `candidates`: a share rounds to nearest.
  uint64_t Of(uint64_t candidates) const;
};

struct DegradeOptions {
  Amount fail_switches;
  Amount fail_links;
  Amount slow_links;
  LinkRate slow_rate{.width = LinkWidth::k4x, .speed = LinkSpeed::kDDR};
  uint64_t seed = 1;
  bool none() const { return fail_switches.none() && fail_links.none() && slow_links.none(); }
};

// The parameters above, declared once for every generator.
std::span<const GeneratorParam> DegradeParams();
// Reads them; a bad value is recorded in `params` ("<generator>: bad value 'x' for key: ...").
DegradeOptions ReadDegradeOptions(ParamReader& params);

// `f` degraded as `options` say. Fails, naming the key and value, when a count exceeds what
// can be taken without splitting the fabric.
Result<Fabric> Degrade(const Fabric& f, const DegradeOptions& options);

}  // namespace fabricctl::gen
