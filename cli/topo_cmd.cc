// fabricctl topo show / convert / diff: thin commands over fabric/topology_io.h,
// fabric/topology_summary.h and fabric/topology_diff.h.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/node_names.h"
#include "fabric/display_text.h"
#include "fabric/topology_diff.h"
#include "fabric/topology_io.h"
#include "fabric/topology_summary.h"

namespace fabricctl::cli {
namespace {

using nlohmann::json;

const std::vector<std::string> kFormatNames = {"auto", "ibnetdiscover", "json", "ibsim"};

// A plain text table: columns padded to their widest cell, numbers right-aligned.
class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string title;
    Align align = Align::kLeft;
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // Cells hold names and descriptions from the input: printed without control bytes.
  void Add(std::vector<std::string> row) {
    for (std::string& cell : row) cell = PrintableText(cell);
    rows_.push_back(std::move(row));
  }
  void Print(std::ostream& os, std::string_view indent = "  ") const {
    std::vector<size_t> width(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) width[c] = columns_[c].title.size();
    for (const auto& row : rows_)
      for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    auto line = [&](auto cell) {
      std::string out(indent);
      for (size_t c = 0; c < columns_.size(); ++c) {
        std::string_view text = cell(c);
        bool last = c + 1 == columns_.size();
        if (columns_[c].align == Align::kRight)
          out += fmt::format("{:>{}}", text, width[c]);
        else
          out += last ? std::string(text) : fmt::format("{:<{}}", text, width[c]);
        if (!last) out += "  ";
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      os << out << "\n";
    };
    line([&](size_t c) -> std::string_view { return columns_[c].title; });
    for (const auto& row : rows_)
      line(
          [&](size_t c) -> std::string_view { return c < row.size() ? std::string_view(row[c]) : std::string_view(); });
  }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

TopoFormat FormatOption(const std::string& name) { return ParseTopoFormat(name).value_or(TopoFormat::kAuto); }

// ---------------------------------------------------------------------------------------
// topo show

struct ShowOptions {
  std::string file;
  bool json = false;
  std::string format = "auto";
  std::string node_name_map;
};

constexpr size_t kMaxDegradedShown = 50;

void PrintSummary(const TopologySummary& s, const Fabric& f, const std::string& file) {
  std::cout << "topology: " << PrintableText(file) << "\n";
  std::cout << fmt::format("{:<14}{:>8}  ({} switches, {} endpoints, {} routers)\n", "nodes", s.nodes, s.switches,
                           s.endpoints, s.routers);
  std::cout << fmt::format("{:<14}{:>8}  physical, {} connected\n", "ports", s.physical_ports, s.connected_ports);
  std::cout << fmt::format("{:<14}{:>8}\n", "links", s.links);
  std::cout << fmt::format("{:<14}{:>8}\n", "subnets", s.subnets.size());
  if (!s.subnets.empty()) {
    Table t({{"NAME"}, {"LEVEL"}, {"SWITCHES", Table::Align::kRight}, {"ENDPOINT PORTS", Table::Align::kRight}});
    for (const SubnetSummary& sub : s.subnets)
      t.Add({sub.name, std::string(ToString(sub.level)), std::to_string(sub.switches),
             std::to_string(sub.endpoint_ports)});
    t.Print(std::cout);
  }
  std::cout << fmt::format("{:<14}{:>8}", "tiers", s.tiers.size());
  if (s.unlabelled_tier_nodes > 0)
    std::cout << fmt::format("  ({} nodes without a tier label)", s.unlabelled_tier_nodes);
  std::cout << "\n";
  if (!s.tiers.empty()) {
    Table t({{"TIER", Table::Align::kRight}, {"SWITCHES", Table::Align::kRight}, {"ENDPOINTS", Table::Align::kRight}});
    for (const TierSummary& tier : s.tiers)
      t.Add({std::to_string(tier.tier), std::to_string(tier.switches), std::to_string(tier.endpoints)});
    t.Print(std::cout);
  }
  std::cout << fmt::format("{:<14}{:>8}  distinct width/speed pairs\n", "link rates", s.rates.size());
  if (!s.rates.empty()) {
    Table t({{"RATE"}, {"GB/S", Table::Align::kRight}, {"LINKS", Table::Align::kRight}});
    for (const RateCount& r : s.rates)
      t.Add({RateName(r.width, r.speed), FormatDataGbps(r.width, r.speed), std::to_string(r.links)});
    t.Print(std::cout);
  }
  std::cout << fmt::format("{:<14}{:>8}", "degraded links", s.degraded_links.size());
  std::cout << (s.degraded_links.empty() ? "  (none below what both ends enable and support)\n" : "\n");
  if (!s.degraded_links.empty()) {
    Table t({{"LINK"}, {"ACTIVE"}, {"BEST"}});
    for (size_t i = 0; i < s.degraded_links.size() && i < kMaxDegradedShown; ++i) {
      const DegradedLink& d = s.degraded_links[i];
      t.Add({f.LinkName(d.link), RateName(d.width, d.speed), RateName(d.best_width, d.best_speed)});
    }
    t.Print(std::cout);
    if (s.degraded_links.size() > kMaxDegradedShown)
      std::cout << fmt::format("  ... and {} more (--json lists all)\n", s.degraded_links.size() - kMaxDegradedShown);
  }
}

int RunShow(const ShowOptions& o) {
  auto fabric = ReadNamedTopology(o.file, FormatOption(o.format), o.node_name_map);
  if (!fabric) return ReportError(fabric.error());
  TopologySummary s = Summarize(*fabric);
  if (o.json) {
    json j = SummaryToJson(s, *fabric);
    j["file"] = o.file;
    PrintJson(j);
  } else {
    PrintSummary(s, *fabric, o.file);
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// topo convert

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string format = "auto";  // of the output
  std::string from = "auto";    // of the input
  std::string node_name_map;
};

int RunConvert(const ConvertOptions& o) {
  auto fabric = ReadNamedTopology(o.input, FormatOption(o.from), o.node_name_map);
  if (!fabric) return ReportError(fabric.error());
  TopoFormat out = FormatOption(o.format);
  if (out == TopoFormat::kAuto) out = FormatFromPath(o.output);
  auto written = WriteTopologyFile(*fabric, o.output, out);
  if (!written) return ReportError(written.error());
  if (o.output != "-")
    std::cerr << fmt::format("fabricctl: wrote {} ({} nodes, {} links)\n", o.output, fabric->num_nodes(),
                             fabric->num_links());
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// topo diff

struct DiffOptions {
  std::string expected;
  std::string actual;
  bool json = false;
  std::string format = "auto";  // of both inputs
  std::string node_name_map;
};

std::string Hex(uint64_t v) { return fmt::format("0x{:016x}", v); }

std::string NodeLabel(const Fabric& f, NodeId n) {
  const Node& node = f.node(n);
  if (node.guid == 0) return fmt::format("{} ({})", f.description(n), ToString(node.type));
  return fmt::format("{} ({} {})", f.description(n), ToString(node.type), Hex(node.guid));
}

// What an ACTUAL port stands in for: "sw1[5] -> h3[1]", "sw1[5] unconnected".
std::string PortFate(const Fabric& expected, PortId expected_port, const Fabric& actual, PortId port, PortId peer) {
  if (port == kNone) return fmt::format("{}: no such port in actual", expected.PortName(expected_port));
  if (peer == kNone) return fmt::format("{} unconnected", actual.PortName(port));
  return fmt::format("{} -> {}", actual.PortName(port), actual.PortName(peer));
}

std::string_view KindTitle(DiffKind k) {
  switch (k) {
    case DiffKind::kMissingNode:
      return "missing node";
    case DiffKind::kExtraNode:
      return "extra node";
    case DiffKind::kTypeMismatch:
      return "type mismatch";
    case DiffKind::kMissingLink:
      return "missing link";
    case DiffKind::kMiswired:
      return "miswired";
    case DiffKind::kExtraLink:
      return "extra link";
    case DiffKind::kBelowPlan:
      return "below plan";
  }
  return "?";
}

json PortJson(const Fabric& f, PortId p) { return p == kNone ? json(nullptr) : json(f.PortName(p)); }

json DiffToJson(const TopologyDiff& d, const Fabric& e, const Fabric& a, const DiffOptions& o) {
  json list = json::array();
  std::map<std::string, size_t> counts;
  for (const TopologyDifference& x : d.differences) {
    json j = {{"kind", ToString(x.kind)}};
    ++counts[std::string(ToString(x.kind))];
    switch (x.kind) {
      case DiffKind::kMissingNode:
      case DiffKind::kExtraNode: {
        const Fabric& f = x.kind == DiffKind::kMissingNode ? e : a;
        NodeId n = x.kind == DiffKind::kMissingNode ? x.expected_node : x.actual_node;
        j["node"] = f.description(n);
        j["guid"] = Hex(f.node(n).guid);
        j["type"] = ToString(f.node(n).type);
        j["links"] = x.node_links;
        break;
      }
      case DiffKind::kTypeMismatch:
        j["node"] = e.description(x.expected_node);
        j["guid"] = Hex(e.node(x.expected_node).guid);
        j["expected_type"] = ToString(e.node(x.expected_node).type);
        j["actual_type"] = ToString(a.node(x.actual_node).type);
        break;
      case DiffKind::kMissingLink:
        j["link"] = e.LinkName(x.expected_link);
        break;
      case DiffKind::kMiswired: {
        const Link& l = e.link(x.expected_link);
        j["link"] = e.LinkName(x.expected_link);
        j["a"] = {{"port", e.PortName(l.a)},
                  {"actual_port", PortJson(a, x.actual_a)},
                  {"actual_peer", PortJson(a, x.actual_a_peer)}};
        j["b"] = {{"port", e.PortName(l.b)},
                  {"actual_port", PortJson(a, x.actual_b)},
                  {"actual_peer", PortJson(a, x.actual_b_peer)}};
        break;
      }
      case DiffKind::kExtraLink:
        j["link"] = a.LinkName(x.actual_link);
        break;
      case DiffKind::kBelowPlan:
        j["link"] = e.LinkName(x.expected_link);
        j["planned"] = RateName(x.planned.width, x.planned.speed);
        j["actual"] = RateName(x.actual.width, x.actual.speed);
        break;
    }
    list.push_back(std::move(j));
  }
  return json{{"expected", o.expected},
              {"actual", o.actual},
              {"identical", d.identical()},
              {"matched_nodes", d.matched_nodes},
              {"matched_by_description", d.matched_by_description},
              {"counts", counts},
              {"differences", std::move(list)}};
}

void PrintDiff(const TopologyDiff& d, const Fabric& e, const Fabric& a, const DiffOptions& o) {
  std::cout << fmt::format("expected: {} ({} nodes, {} links)\n", PrintableText(o.expected), e.num_nodes(),
                           e.num_links());
  std::cout << fmt::format("actual:   {} ({} nodes, {} links)\n", PrintableText(o.actual), a.num_nodes(),
                           a.num_links());
  std::cout << fmt::format("matched {} nodes ({} by description)\n", d.matched_nodes, d.matched_by_description);
  if (d.identical()) {
    std::cout << "identical: every planned node and link is there as planned\n";
    return;
  }
  Table t({{"DIFFERENCE"}, {"WHERE"}, {"DETAIL"}});
  std::map<DiffKind, size_t> counts;
  for (const TopologyDifference& x : d.differences) {
    ++counts[x.kind];
    std::string where, detail;
    switch (x.kind) {
      case DiffKind::kMissingNode:
        where = NodeLabel(e, x.expected_node);
        detail = fmt::format("{} planned link{}", x.node_links, x.node_links == 1 ? "" : "s");
        break;
      case DiffKind::kExtraNode:
        where = NodeLabel(a, x.actual_node);
        detail = fmt::format("{} link{}", x.node_links, x.node_links == 1 ? "" : "s");
        break;
      case DiffKind::kTypeMismatch:
        where = NodeLabel(e, x.expected_node);
        detail = fmt::format("planned {}, found {}", ToString(e.node(x.expected_node).type),
                             ToString(a.node(x.actual_node).type));
        break;
      case DiffKind::kMissingLink:
        where = e.LinkName(x.expected_link);
        detail = "both ports unconnected";
        break;
      case DiffKind::kMiswired: {
        const Link& l = e.link(x.expected_link);
        where = e.LinkName(x.expected_link);
        detail =
            PortFate(e, l.a, a, x.actual_a, x.actual_a_peer) + "; " + PortFate(e, l.b, a, x.actual_b, x.actual_b_peer);
        break;
      }
      case DiffKind::kExtraLink:
        where = a.LinkName(x.actual_link);
        detail = "not planned";
        break;
      case DiffKind::kBelowPlan:
        where = e.LinkName(x.expected_link);
        detail = fmt::format("planned {}, active {}", RateName(x.planned.width, x.planned.speed),
                             RateName(x.actual.width, x.actual.speed));
        break;
    }
    t.Add({std::string(KindTitle(x.kind)), std::move(where), std::move(detail)});
  }
  std::cout << "\n";
  t.Print(std::cout, "");
  std::string total;
  for (auto [kind, n] : counts) {
    std::string title(KindTitle(kind));
    // "1 missing node", "2 missing nodes", "3 type mismatches"; "miswired" and "below plan" stay.
    if (n > 1 && title.ends_with("node")) title += "s";
    if (n > 1 && title.ends_with("link")) title += "s";
    if (n > 1 && title.ends_with("mismatch")) title += "es";
    total += fmt::format("{}{} {}", total.empty() ? "" : ", ", n, title);
  }
  std::cout << fmt::format("\n{} difference{}: {}\n", d.differences.size(), d.differences.size() == 1 ? "" : "s",
                           total);
}

int RunDiff(const DiffOptions& o) {
  auto expected = ReadNamedTopology(o.expected, FormatOption(o.format), o.node_name_map);
  if (!expected) return ReportError(expected.error());
  auto actual = ReadNamedTopology(o.actual, FormatOption(o.format), o.node_name_map);
  if (!actual) return ReportError(actual.error());
  TopologyDiff d = DiffTopologies(*expected, *actual);
  if (o.json)
    PrintJson(DiffToJson(d, *expected, *actual, o));
  else
    PrintDiff(d, *expected, *actual, o);
  return d.identical() ? kExitOk : kExitFindings;
}

}  // namespace

void AddTopoCommands(CLI::App& topo, Runner& run) {
  const std::string format_help = "Input format: auto (sniff the content), ibnetdiscover, json, ibsim";

  auto show_opts = std::make_shared<ShowOptions>();
  CLI::App* show = topo.add_subcommand(
      "show", "Summarize a topology file: nodes, ports, links, subnets, tiers, link rates, degraded links");
  show->add_option("FILE", show_opts->file, "Topology file (ibnetdiscover text or JSON; - for stdin)")->required();
  show->add_flag("--json", show_opts->json, "Machine-readable output");
  show->add_option("--format", show_opts->format, format_help)->check(CLI::IsMember(kFormatNames));
  AddNodeNameMapOption(*show, show_opts->node_name_map);
  show->callback([show_opts, &run] { run = [show_opts] { return RunShow(*show_opts); }; });

  auto convert_opts = std::make_shared<ConvertOptions>();
  CLI::App* convert = topo.add_subcommand("convert", "Convert a topology file between formats");
  convert->add_option("IN", convert_opts->input, "Input topology file (format sniffed from the content)")->required();
  convert->add_option("-o,--output", convert_opts->output, "Output file, written atomically (- for stdout)")
      ->required();
  convert
      ->add_option("--format", convert_opts->format,
                   "Output format: auto (from the extension: .json, .ibsim, else ibnetdiscover), ibnetdiscover, "
                   "json, ibsim")
      ->check(CLI::IsMember(kFormatNames));
  convert->add_option("--from", convert_opts->from, format_help)->check(CLI::IsMember(kFormatNames));
  AddNodeNameMapOption(*convert, convert_opts->node_name_map);
  convert->callback([convert_opts, &run] { run = [convert_opts] { return RunConvert(*convert_opts); }; });

  auto diff_opts = std::make_shared<DiffOptions>();
  CLI::App* diff = topo.add_subcommand(
      "diff",
      "Cabling validation: compare the planned topology with the one found. Exit 0 identical, 1 differences, "
      "2 error");
  diff->add_option("EXPECTED", diff_opts->expected, "Planned topology file")->required();
  diff->add_option("ACTUAL", diff_opts->actual, "Discovered topology file")->required();
  diff->add_flag("--json", diff_opts->json, "Machine-readable output");
  diff->add_option("--format", diff_opts->format, format_help)->check(CLI::IsMember(kFormatNames));
  AddNodeNameMapOption(*diff, diff_opts->node_name_map);
  diff->callback([diff_opts, &run] { run = [diff_opts] { return RunDiff(*diff_opts); }; });
}

}  // namespace fabricctl::cli
