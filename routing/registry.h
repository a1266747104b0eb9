#pragma once
// The one table of routing engines: name, description, where it applies, factory. It
// feeds --engine choices, the help text and fallback chains (`ftree,updn`).
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "routing/engine.h"

namespace fabricctl {

struct EngineInfo {
  std::string_view name;
  std::string_view description;
  std::string_view applies_to;  // topologies it accepts; others are declined with a reason
  bool deadlock_free;           // with the VLs it asks for
  std::unique_ptr<RoutingEngine> (*make)();
};

std::span<const EngineInfo> Engines();
const EngineInfo* FindEngine(std::string_view name);
// "unknown routing engine 'ftre'; did you mean 'ftree'? (engines: minhop, updn, ...)"
Error UnknownEngineError(std::string_view name);
// Help text listing every engine, one per line.
std::string EnginesHelp();

// A fallback chain: "ftree,updn" -> the engines to try in order.
Result<std::vector<const EngineInfo*>> ParseEngineChain(std::string_view chain);

}  // namespace fabricctl
