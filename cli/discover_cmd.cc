// fabricctl discover / counters: the subnet as the SMPs see it, and its port counters.
#include <fmt/format.h>

#include <iostream>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/node_names.h"
#include "cli/progress.h"
#include "fabric/counters.h"
#include "fabric/discovery.h"
#include "fabric/file_io.h"
#include "fabric/topology_io.h"

namespace fabricctl::cli {
namespace {

struct LocalPortOptions {
  std::string ca;
  int port = 0;
  std::string node_name_map;
};

struct DiscoverOptions {
  LocalPortOptions local;
  unsigned max_hops = mad::kMaxHops;
  int timeout_ms = 200;
  int retries = 3;
  unsigned inflight = 16;
  std::string output;
  std::string format = "auto";
  bool json = false;
  bool quiet = false;
};

struct CountersOptions {
  LocalPortOptions local;
  int timeout_ms = 200;
  int retries = 3;
  unsigned inflight = 16;
  std::string thresholds;
  bool reset = false;
  bool json = false;
};

void AddLocalPortFlags(CLI::App& cmd, LocalPortOptions& o) {
  cmd.add_option("-C,--ca", o.ca, "Local RDMA device to send from (default: the first with an IB port)");
  cmd.add_option("-P,--port", o.port, "Local port number (default: the first active port)")->check(CLI::Range(0, 255));
  AddNodeNameMapOption(cmd, o.node_name_map);
}

std::string Guid(uint64_t g) { return fmt::format("0x{:016x}", g); }

nlohmann::json FabricJson(const DiscoveryResult& r) {
  const Fabric& f = r.fabric;
  nlohmann::json nodes = nlohmann::json::array();
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    nlohmann::json ports = nlohmann::json::array();
    for (unsigned p = node.type == NodeType::kSwitch ? 0 : 1; p <= node.num_ports; ++p) {
      const Port& port = f.port(f.port_id(n, p));
      nlohmann::json jp = {{"port", p},
                           {"guid", Guid(port.guid)},
                           {"lid", port.lid},
                           {"state", ToString(port.state)},
                           {"phys_state", ToString(port.phys_state)},
                           {"width", ToString(port.width_active)},
                           {"speed", ToString(port.speed_active)}};
      if (port.peer != kNone) {
        const Port& peer = f.port(port.peer);
        jp["peer"] = {{"guid", Guid(f.node(peer.node).guid)}, {"port", peer.number}};
      }
      ports.push_back(std::move(jp));
    }
    nlohmann::json jn = {{"guid", Guid(node.guid)},     {"system_guid", Guid(node.system_guid)},
                         {"type", ToString(node.type)}, {"description", f.description(n)},
                         {"num_ports", node.num_ports}, {"path", r.paths[n].ToString()},
                         {"ports", std::move(ports)}};
    if (node.type == NodeType::kSwitch) {
      jn["lft_cap"] = r.switch_info[n].linear_fdb_cap;
      jn["lft_top"] = r.switch_info[n].linear_fdb_top;
    }
    nodes.push_back(std::move(jn));
  }
  nlohmann::json problems = nlohmann::json::array();
  for (const DiscoveryProblem& p : r.problems)
    problems.push_back({{"path", p.path}, {"where", p.where}, {"message", p.message}});
  nlohmann::json degraded = nlohmann::json::array();
  for (const DegradedLink& d : FindDegradedLinks(f))
    degraded.push_back({{"link", f.LinkName(d.link)},
                        {"active", FormatWidthSpeed(d.width, d.speed)},
                        {"best", FormatWidthSpeed(d.best_width, d.best_speed)}});
  return {{"nodes", std::move(nodes)},
          {"num_nodes", f.num_nodes()},
          {"num_links", f.num_links()},
          {"problems", std::move(problems)},
          {"degraded", std::move(degraded)},
          {"stats",
           {{"mads", r.stats.sent},
            {"retransmits", r.stats.retransmits},
            {"unanswered", r.stats.unanswered},
            {"seconds", r.seconds}}}};
}

int RunDiscover(const DiscoverOptions& o) {
  auto format = ParseTopoFormat(o.format);
  if (!format)
    return ReportError(Error{.message = fmt::format("unknown format '{}' (ibnetdiscover, json, ibsim)", o.format)});
  auto transport = mad::OpenUmadTransport(o.local.ca, o.local.port, o.timeout_ms);
  if (!transport) return ReportError(transport.error());
  DiscoveryOptions opts{.max_hops = o.max_hops,
                        .rpc = {.inflight = o.inflight, .timeout_ms = o.timeout_ms, .retries = o.retries}};
  Progress progress("discover", o.quiet || o.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  if (progress.shown())
    opts.progress = [&progress](const DiscoveryProgress& p) {
      progress.Update(fmt::format("{} nodes ({} switches), {} MADs", p.nodes, p.switches, p.mads));
    };
  auto result = Discover(**transport, opts);
  progress.Done();
  if (!result) return ReportError(result.error());
  auto named = ApplyNodeNameMap(std::move(result->fabric), o.local.node_name_map);
  if (!named) return ReportError(named.error());
  result->fabric = std::move(*named);
  if (!o.output.empty())
    if (auto w = WriteTopologyFile(result->fabric, o.output, *format); !w) return ReportError(w.error());
  auto degraded = FindDegradedLinks(result->fabric);
  if (o.json) {
    PrintJson(FabricJson(*result));
  } else {
    const Fabric& f = result->fabric;
    size_t switches = 0;
    for (const Node& n : f.nodes()) switches += n.type == NodeType::kSwitch;
    std::cout << fmt::format(
        "discovered {} nodes ({} switches, {} endpoints), {} links in {:.3f} s, {} MADs ({} retransmitted)\n",
        f.num_nodes(), switches, f.num_nodes() - switches, f.num_links(), result->seconds, result->stats.sent,
        result->stats.retransmits);
    for (const DiscoveryProblem& p : result->problems)
      std::cout << fmt::format("unreached: {} (route {}): {}\n", p.where, p.path, p.message);
    // Simulators and mixed-generation fabrics can flag every link: show a few, count all.
    constexpr size_t kShown = 10;
    for (size_t i = 0; i < degraded.size() && i < kShown; ++i)
      std::cout << fmt::format("degraded: {}: {} (both ends support {})\n", f.LinkName(degraded[i].link),
                               FormatWidthSpeed(degraded[i].width, degraded[i].speed),
                               FormatWidthSpeed(degraded[i].best_width, degraded[i].best_speed));
    if (degraded.size() > kShown)
      std::cout << fmt::format("... {} links below what both ends support in all (--json lists them)\n",
                               degraded.size());
  }
  // Degraded links are reported, but only an incomplete walk is a finding: compare with the
  // planned topology (topo diff) to judge rates against the plan.
  return result->problems.empty() ? kExitOk : kExitFindings;
}

int RunCounters(const CountersOptions& o) {
  CounterOptions opts{.rpc = {.inflight = o.inflight, .timeout_ms = o.timeout_ms, .retries = o.retries},
                      .reset = o.reset ? ResetMode::kResetAfterRead : ResetMode::kKeep};
  if (!o.thresholds.empty()) {
    auto text = ReadTextFile(o.thresholds);
    if (!text) return ReportError(text.error());
    auto t = ParseThresholds(*text, o.thresholds);
    if (!t) return ReportError(t.error());
    opts.thresholds = *t;
  }
  auto transport = mad::OpenUmadTransport(o.local.ca, o.local.port, o.timeout_ms);
  if (!transport) return ReportError(transport.error());
  Progress progress("counters", o.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  progress.Stage("discovering the subnet");
  auto found = Discover(**transport, DiscoveryOptions{.rpc = opts.rpc});
  if (!found) return ReportError(found.error());
  auto named = ApplyNodeNameMap(std::move(found->fabric), o.local.node_name_map);
  if (!named) return ReportError(named.error());
  found->fabric = std::move(*named);
  const Fabric& f = found->fabric;
  progress.Stage("reading the port counters");
  auto report = ReadCounters(**transport, f, opts);
  progress.Done();
  if (!report) return ReportError(report.error());
  size_t over = 0;
  for (const PortCounterReading& r : report->ports) over += !r.over.empty();
  if (o.json) {
    nlohmann::json ports = nlohmann::json::array();
    for (const PortCounterReading& r : report->ports) {
      const Port& port = f.port(r.port);
      nlohmann::json counters = nlohmann::json::object();
      for (size_t i = 0; i < kNumCounters; ++i)
        counters[std::string(CounterName(static_cast<Counter>(i)))] = r.value[i];
      nlohmann::json names = nlohmann::json::array();
      for (Counter c : r.over) names.push_back(CounterName(c));
      ports.push_back({{"node", f.description(port.node)},
                       {"guid", Guid(f.node(port.node).guid)},
                       {"port", port.number},
                       {"lid", r.lid},
                       {"extended", r.extended},
                       {"counters", std::move(counters)},
                       {"over_threshold", std::move(names)}});
    }
    nlohmann::json problems = nlohmann::json::array();
    for (const CounterProblem& p : report->problems)
      problems.push_back({{"port", f.PortName(p.port)}, {"message", p.message}});
    PrintJson({{"ports", std::move(ports)},
               {"problems", std::move(problems)},
               {"ports_over_threshold", over},
               {"reset", o.reset},
               {"stats", {{"mads", report->stats.sent + found->stats.sent}}}});
  } else {
    for (const PortCounterReading& r : report->ports) {
      if (r.over.empty()) continue;
      std::string line =
          fmt::format("{} (GUID 0x{:x} lid {}):", f.PortName(r.port), f.node(f.port(r.port).node).guid, r.lid);
      for (Counter c : r.over)
        line += fmt::format(" [{} == {} > {}]", CounterName(c), r.value[size_t(c)], opts.thresholds.limit[size_t(c)]);
      std::cout << line << "\n";
    }
    for (const CounterProblem& p : report->problems)
      std::cout << fmt::format("unread: {}: {}\n", f.PortName(p.port), p.message);
    std::cout << fmt::format("{} ports read, {} over threshold, {} unread{}\n", report->ports.size(), over,
                             report->problems.size(), o.reset ? ", counters reset" : "");
  }
  return over == 0 && report->problems.empty() ? kExitOk : kExitFindings;
}

}  // namespace

void AddDiscoverCommands(CLI::App& app, Runner& run) {
  auto d = std::make_shared<DiscoverOptions>();
  CLI::App* cmd = app.add_subcommand(
      "discover",
      "Walk the InfiniBand subnet with directed-route SMPs (like ibnetdiscover) and write the topology.\n"
      "Links that trained below what both ends support are listed. Exit 1 when some of the subnet could\n"
      "not be read (listed as unreached), 2 on errors.");
  AddLocalPortFlags(*cmd, d->local);
  cmd->add_option("--max-hops", d->max_hops, "Longest directed route to follow")->check(CLI::Range(1, 63));
  cmd->add_option("--timeout", d->timeout_ms, "Milliseconds to wait for each SMP before retrying")
      ->check(CLI::Range(1, 60000));
  cmd->add_option("--retries", d->retries, "Retransmissions of an unanswered SMP")->check(CLI::Range(0, 100));
  cmd->add_option("--inflight", d->inflight, "SMPs outstanding at once")->check(CLI::Range(1, 256));
  cmd->add_option("-o,--output", d->output, "Write the topology to FILE (format from the extension or --format)");
  cmd->add_option("--format", d->format, "Output format: auto, ibnetdiscover, json, ibsim");
  cmd->add_flag("--json", d->json, "Print the discovered fabric, problems and statistics as JSON");
  cmd->add_flag("-q,--quiet", d->quiet, "No progress on stderr");
  cmd->callback([d, &run] { run = [d] { return RunDiscover(*d); }; });

  auto c = std::make_shared<CountersOptions>();
  CLI::App* ccmd = app.add_subcommand(
      "counters",
      "Read the port counters (PMA PortCounters, PortCountersExtended where supported) of every connected\n"
      "port and list those over threshold, like ibqueryerrors. Needs LIDs (a subnet manager has run).\n"
      "Exit 1 when a port is over threshold or could not be read.");
  AddLocalPortFlags(*ccmd, c->local);
  ccmd->add_option("--thresholds", c->thresholds,
                   "ibqueryerrors threshold file (Name=value lines); default: every error counter > 0 is reported")
      ->check(CLI::ExistingFile);
  ccmd->add_flag("--reset", c->reset, "Reset the counters after reading them");
  ccmd->add_option("--timeout", c->timeout_ms, "Milliseconds to wait for each MAD before retrying")
      ->check(CLI::Range(1, 60000));
  ccmd->add_option("--retries", c->retries, "Retransmissions of an unanswered MAD")->check(CLI::Range(0, 100));
  ccmd->add_option("--inflight", c->inflight, "MADs outstanding at once")->check(CLI::Range(1, 256));
  ccmd->add_flag("--json", c->json, "Print every port's counters as JSON");
  ccmd->callback([c, &run] { run = [c] { return RunCounters(*c); }; });
}

}  // namespace fabricctl::cli
