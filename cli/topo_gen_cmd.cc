// fabricctl topo gen NAME [--set key=value ...] [-o FILE]: build a fabric from a generator
// and write it (format from the extension or --format); without -o, print the counts only.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "cli/cli_util.h"
#include "cli/progress.h"
#include "fabric/file_io.h"
#include "fabric/generator.h"
#include "fabric/topology_io.h"

namespace fabricctl::cli {
namespace {

struct TopoGenOptions {
  std::string name;
  std::vector<std::string> sets;
  std::string output;
  std::string format = "auto";
  bool list = false;
  bool json = false;
};

std::string ParamsText(std::span<const GeneratorParam> params) {
  size_t width = 0;
  for (const GeneratorParam& p : params) width = std::max(width, p.key.size() + p.default_value.size() + 3);
  std::string out;
  for (const GeneratorParam& p : params)
    out += fmt::format("    {:<{}}  {}\n", fmt::format("{} [{}]", p.key, p.default_value), width, p.help);
  return out;
}

std::string GeneratorsText() {
  std::string out = "Generators (NAME) and their parameters (--set key=value, default in brackets):\n";
  for (const GeneratorInfo& g : Generators())
    out += fmt::format("\n  {}\n    {}\n", g.name, g.help) + ParamsText(g.params);
  out +=
      "\n  Every generator also takes (a fabric as it runs: failed and slow parts, chosen at random,\n"
      "  never splitting the fabric; endpoints left without a cable are dropped):\n";
  return out + ParamsText(CommonGeneratorParams());
}

nlohmann::json ParamsJson(std::span<const GeneratorParam> params) {
  nlohmann::json list = nlohmann::json::array();
  for (const GeneratorParam& p : params)
    list.push_back({{"key", p.key}, {"default", p.default_value}, {"help", p.help}});
  return list;
}

nlohmann::json GeneratorsJson() {
  nlohmann::json list = nlohmann::json::array();
  for (const GeneratorInfo& g : Generators())
    list.push_back({{"name", g.name}, {"help", g.help}, {"params", ParamsJson(g.params)}});
  return {{"generators", list}, {"common_params", ParamsJson(CommonGeneratorParams())}};
}

// `name` is the NAME given on the command line, empty when none was.
Result<GeneratorParams> ParseSets(const std::vector<std::string>& sets, std::string_view name) {
  GeneratorParams params;
  for (const std::string& s : sets) {
    size_t eq = s.find('=');
    // --set takes every following word, so a NAME written after it lands here.
    if (eq == std::string::npos || eq == 0)
      return MakeError(
          fmt::format("--set expects key=value, not '{}'{}", s, name.empty() ? " (give NAME before --set)" : ""));
    std::string key = s.substr(0, eq);
    if (!params.emplace(key, s.substr(eq + 1)).second) return MakeError(fmt::format("--set {} is given twice", key));
  }
  return params;
}

int Run(const TopoGenOptions& o) {
  if (o.list) {
    if (o.json)
      PrintJson(GeneratorsJson());
    else
      std::cout << GeneratorsText();
    return kExitOk;
  }
  auto params = ParseSets(o.sets, o.name);
  if (!params) return ReportError(params.error());
  if (o.name.empty())
    return ReportError(Error{.message = "topo gen: NAME is required (fabricctl topo gen --list shows them)"});
  auto format = ParseTopoFormat(o.format);
  if (!format)
    return ReportError(
        Error{.message = fmt::format("--format {}: expected auto, ibnetdiscover, json or ibsim", o.format)});
  // A bad -o fails now, not after generating a large fabric.
  if (!o.output.empty())
    if (auto w = CheckWritablePath(o.output); !w) return ReportError(w.error());
  Progress progress("topo gen", o.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  progress.Stage(fmt::format("generating {}", o.name));
  auto fabric = Generate(o.name, *params);
  if (!fabric) return ReportError(fabric.error());
  if (!o.output.empty()) {
    progress.Stage(fmt::format("writing {}", o.output));
    if (auto w = WriteTopologyFile(*fabric, o.output, *format); !w) return ReportError(w.error());
  }
  progress.Done();

  // With -o - the fabric itself is on standard output; the summary must not follow it there.
  std::ostream& out = o.output == "-" ? std::cerr : std::cout;
  size_t switches = 0;
  for (NodeId n = 0; n < fabric->num_nodes(); ++n) switches += fabric->is_switch(n);
  const size_t endpoints = fabric->num_nodes() - switches;
  if (o.json) {
    nlohmann::json subnets = nlohmann::json::array();
    for (const Subnet& s : fabric->subnets())
      subnets.push_back({{"name", s.name},
                         {"level", ToString(s.level)},
                         {"switches", s.switches.size()},
                         {"endpoint_ports", s.endpoint_ports.size()}});
    nlohmann::json j = {{"generator", o.name},  {"params", *params},      {"nodes", fabric->num_nodes()},
                        {"switches", switches}, {"endpoints", endpoints}, {"links", fabric->num_links()},
                        {"subnets", subnets}};
    j["output"] = o.output.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.output);
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << fmt::format("{}: {} nodes ({} switches, {} endpoints), {} links, {} subnets\n", o.name, fabric->num_nodes(),
                     switches, endpoints, fabric->num_links(), fabric->subnets().size());
  for (const Subnet& s : fabric->subnets())
    out << fmt::format("  {:<20} {:>6} switches {:>7} endpoint ports\n", s.name, s.switches.size(),
                       s.endpoint_ports.size());
  if (o.output.empty())
    out << "not written: give -o FILE to write it\n";
  else
    out << "wrote " << (o.output == "-" ? "standard output" : o.output) << "\n";
  return kExitOk;
}

}  // namespace

void AddTopoGen(CLI::App& topo, Runner& run) {
  auto opts = std::make_shared<TopoGenOptions>();
  CLI::App* cmd = topo.add_subcommand("gen",
                                      "Generate a fabric: fat-tree, leaf-spine, rail, supernode, dragonfly, torus, "
                                      "jellyfish, scalex640, scalex-cluster");
  cmd->add_option("NAME", opts->name, "Generator name (see below or --list)");
  cmd->add_option("-s,--set", opts->sets, "Parameter as key=value; repeat or list several after one --set")
      ->type_name("KEY=VALUE");
  cmd->add_option("-o,--output", opts->output,
                  "Write the fabric to FILE (.json: JSON, .ibsim: ibsim, else ibnetdiscover); without it only the "
                  "counts are printed")
      ->type_name("FILE");
  cmd->add_option("--format", opts->format, "Output format: auto (from the extension), ibnetdiscover, json, ibsim");
  cmd->add_flag("--list", opts->list, "List the generators and their parameters");
  cmd->add_flag("--json", opts->json, "Print the summary (or the --list) as JSON");
  cmd->footer("\n" + GeneratorsText() +
              "\nExamples:\n"
              "  fabricctl topo gen fat-tree --set k=8 tiers=3 -o ft8.topo\n"
              "  fabricctl topo gen supernode --set preset=cm384 -o cm384.json\n"
              "  fabricctl topo gen scalex-cluster -o cluster.topo\n"
              "  fabricctl topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 fail_switches=2 -o ft16-faulty.topo\n"
              "  fabricctl topo gen jellyfish --set switches=200 degree=12 hosts=6 seed=3 -o jf200.topo");
  cmd->callback([opts, &run] { run = [opts] { return Run(*opts); }; });
}

}  // namespace fabricctl::cli
