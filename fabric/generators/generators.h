#pragma once
// The generators the registry (fabric/generator.cc) lists, one per file in this folder.
#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/generator.h"
#include "fabric/generators/gen_builder.h"
#include "fabric/generators/params.h"

namespace fabricctl::gen {

struct GeneratorDef {
  GeneratorInfo info;
  // Reads its parameters from `params` (which has checked the keys) and builds.
  Result<Fabric> (*generate)(ParamReader& params);
};

extern const GeneratorDef kFatTree;        // fat_tree.cc
extern const GeneratorDef kLeafSpine;      // leaf_spine.cc
extern const GeneratorDef kRail;           // rail.cc
extern const GeneratorDef kSupernode;      // supernode.cc
extern const GeneratorDef kDragonfly;      // dragonfly.cc
extern const GeneratorDef kTorus;          // torus.cc
extern const GeneratorDef kJellyfish;      // jellyfish.cc
extern const GeneratorDef kScalex640;      // scalex.cc
extern const GeneratorDef kScalexCluster;  // scalex.cc

}  // namespace fabricctl::gen
