// fabricctl manage: the route manager service (routing/manage/manager.h).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "fabric/file_io.h"
#include "routing/manage/event_log.h"
#include "routing/manage/manager.h"
#include "routing/manage/opensm_installer.h"

namespace fabricctl::cli {
namespace {

std::atomic<bool> g_manage_stop{false};  // set by SIGINT/SIGTERM only; signal handlers need a global
extern "C" void OnManageStopSignal(int) { g_manage_stop.store(true); }

struct ManageCmdOptions {
  std::string ca;
  int port = 0;
  std::string engine = "auto";
  int vls = 8;
  double period = 0.5;
  std::string event_log;
  bool quiet = false;
  bool verify_steps = false;
  uint64_t max_changes = 0;
  double max_seconds = 0;
  unsigned flap_count = 3;
  double flap_window = 30;
  double hold_down = 60;
  unsigned full_pass_every = 10;
  int timeout_ms = 200;
  int retries = 3;
  int sweep_timeout_ms = 20;
  double give_up = 10;
  std::string sm = "none";
  std::string opensm_lfts;  // --sm opensm-file: the dump OpenSM's file engine reads
  std::string opensm_pid;   // --sm opensm-file: OpenSM's pid file
  std::string state_dir = kDefaultStateDir;
  std::string metrics_file;
  double step_pause = 0.001;
  bool read_back = false;
};

struct StatusCmdOptions {
  std::string state_dir = kDefaultStateDir;
  bool json = false;
};

ManageOptions ToManageOptions(const ManageCmdOptions& o) {
  ManageOptions m;
  m.engine = o.engine;
  m.route.engine.max_vls = static_cast<uint8_t>(o.vls);
  m.period_seconds = o.period;
  m.verify_steps = o.verify_steps;
  m.max_changes = o.max_changes;
  m.max_seconds = o.max_seconds;
  m.damping = {.flaps = o.flap_count, .window_seconds = o.flap_window, .hold_down_seconds = o.hold_down};
  m.watch.full_pass_every = o.full_pass_every;
  m.watch.rpc.timeout_ms = o.sweep_timeout_ms;
  m.watch.activate_ports = o.sm == "none";  // no SM activates a returning link but us
  m.give_up_seconds = o.give_up;
  m.rpc = {.inflight = 16, .timeout_ms = o.timeout_ms, .retries = o.retries};
  m.install.rpc = m.rpc;
  m.install.drain_seconds = o.step_pause;
  m.install.read_back = o.read_back;
  m.state_dir = o.state_dir;
  m.metrics_file = o.metrics_file;
  m.stop_requested = [] { return g_manage_stop.load(); };
  if (o.sm == "opensm-file") {
    // OpenSM programs the switches from our dump, and needs to see PortStateChange itself.
    m.watch.bit = PortStateChangeBit::kLeave;
    m.make_installer = [o, rpc = m.rpc](mad::Transport& transport, const DiscoveryResult& view,
                                        const std::vector<uint8_t>& reachable) -> std::unique_ptr<RouteInstaller> {
      return std::make_unique<OpensmInstaller>(
          transport, view, reachable,
          OpensmInstallerOptions{.lfts_file = o.opensm_lfts, .pid_file = o.opensm_pid, .rpc = rpc});
    };
  }
  return m;
}

int RunManage(const ManageCmdOptions& o) {
  struct sigaction sa {};
  sa.sa_handler = OnManageStopSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // A bad engine name is refused before the fabric is touched.
  if (auto selection = ParseEngineSelection(o.engine); !selection) return ReportError(selection.error());
  if (o.sm == "opensm-file" && (o.opensm_lfts.empty() || o.opensm_pid.empty()))
    return ReportError(Error{.message = "--sm opensm-file needs --opensm-lfts and --opensm-pid"});
  auto log = EventLog::Open(o.event_log);
  if (!log) return ReportError(log.error());
  // With no SM on the subnet this service takes the SM role, so the switches' traps reach it;
  // under OpenSM, OpenSM is the SM.
  auto transport = mad::OpenUmadTransport(o.ca, o.port, o.timeout_ms, o.sm == "none");
  if (!transport) return ReportError(transport.error());
  ManageOptions options = ToManageOptions(o);
  std::optional<Error> log_error;
  options.on_event = [&](const nlohmann::json& event) {
    nlohmann::json stamped = event;
    stamped["time"] = UtcTimestamp();
    if (auto w = log->Write(stamped); !w && !log_error) log_error = w.error();
    if (!o.quiet) std::cout << stamped.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  };
  auto manager = RouteManager::Start(**transport, std::move(options));
  if (!manager) return ReportError(manager.error());
  auto run = (*manager)->Run();
  if (log_error) return ReportError(*log_error);
  if (!run) return ReportError(run.error());
  return kExitOk;
}

// status.json as the running service last wrote it.
int RunStatus(const StatusCmdOptions& o) {
  const std::string path = o.state_dir + "/status.json";
  auto text = ReadTextFile(path);
  if (!text) return ReportError(text.error());
  auto status = nlohmann::json::parse(*text, nullptr, false);
  if (status.is_discarded() || !status.is_object())
    return ReportError(Error{.message = "not a route manager status file", .where = path});
  if (o.json) {
    PrintJson(status);
    return kExitOk;
  }
  const double age = status.value("last_sweep_unix", 0.0) > 0
                         ? std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
                               status.value("last_sweep_unix", 0.0)
                         : -1;
  std::cout << fmt::format("manager pid {}: {} nodes, {} links\n", status.value("pid", 0), status.value("nodes", 0),
                           status.value("links", 0));
  std::cout << fmt::format("last sweep: {}; sweeps {}, changes handled {}, full reroutes {}\n",
                           age < 0 ? std::string("never") : Duration(age) + " ago", status.value("sweeps", 0),
                           status.value("changes", 0), status.value("full_reroutes", 0));
  std::cout << fmt::format(
      "down: {} links ({} held down by damping), {} switches; unreachable LIDs {}, endpoints cut off {}\n",
      status.value("links_down", 0), status.value("links_held_down", 0), status.value("switches_down", 0),
      status.value("unreachable_lids", 0), status.value("endpoints_cut_off", 0));
  std::cout << fmt::format("last change: repaired in {} ({} LFT blocks written); {} blocks since start\n",
                           Duration(status.value("last_repair_seconds", 0.0)), status.value("last_repair_blocks", 0),
                           status.value("blocks_written", 0));
  const bool lost = status.value("unreachable_lids", 0) > 0 || status.value("endpoints_cut_off", 0) > 0;
  return lost ? kExitFindings : kExitOk;
}

}  // namespace

// The service's flags, on `manage` and on `manage run` alike.
void AddRunOptions(CLI::App* cmd, ManageCmdOptions& o) {
  cmd->add_option("-C,--ca", o.ca, "Local RDMA device to send from");
  cmd->add_option("-P,--port", o.port, "Local port number")->check(CLI::Range(0, 255));
  cmd->add_option("--engine", o.engine, "Engine chain, as `route compute --engine` (default auto)");
  cmd->add_option("--vls", o.vls, "Virtual lanes the engines may use (the repair keeps single-VL tables only)")
      ->check(CLI::Range(1, 15));
  cmd->add_option("--period", o.period, "Seconds between sweeps of the switches' port states")->check(Seconds(3600));
  cmd->add_option("--event-log", o.event_log, "Append every event to this file as a JSON line");
  cmd->add_flag("-q,--quiet", o.quiet, "Do not print events on stdout");
  cmd->add_option("--sm", o.sm,
                  "Who programs the switches: none (this service, over SMPs) or opensm-file (OpenSM, from the dump "
                  "its file engine reads; docs/manage-opensm.md)")
      ->check(CLI::IsMember({"none", "opensm-file"}));
  cmd->add_option("--opensm-lfts", o.opensm_lfts, "--sm opensm-file: the LFT dump OpenSM reads (its -R file -U FILE)");
  cmd->add_option("--opensm-pid", o.opensm_pid, "--sm opensm-file: OpenSM's pid file, signalled to read the dump");
  cmd->add_option("--flap-count", o.flap_count, "State changes within --flap-window that hold a link down")
      ->check(CLI::Range(1u, 1000u));
  cmd->add_option("--flap-window", o.flap_window, "Seconds in which --flap-count changes hold a link down")
      ->check(Seconds(86400));
  cmd->add_option("--hold-down", o.hold_down, "Seconds a flapping link stays down after its last change")
      ->check(Seconds(86400));
  cmd->add_option("--full-pass-every", o.full_pass_every,
                  "Every Nth sweep reads every switch port, not only those of switches that flagged a change "
                  "(0: never)");
  cmd->add_flag("--verify-steps", o.verify_steps,
                "After each installation step read every switch's LFT back and verify it (testing; slow)");
  cmd->add_option("--max-changes", o.max_changes, "Stop after handling this many changes (0: no limit)");
  cmd->add_option("--for", o.max_seconds, "Stop after this many seconds (default: until SIGTERM/SIGINT)")
      ->check(Seconds(1e9));
  cmd->add_option("--timeout", o.timeout_ms, "Milliseconds to wait for each SMP before retrying")
      ->check(CLI::Range(1, 60000));
  cmd->add_option("--sweep-timeout", o.sweep_timeout_ms,
                  "Milliseconds a sweep waits for a switch (one retry): a dead switch costs the sweep twice this")
      ->check(CLI::Range(1, 60000));
  cmd->add_option("--give-up", o.give_up,
                  "Seconds of failing sweeps (the fabric takes no MADs) after which the service exits (status 2)")
      ->check(Seconds(86400));
  cmd->add_option("--retries", o.retries, "Retransmissions of an unanswered SMP")->check(CLI::Range(0, 100));
  cmd->add_option("--state-dir", o.state_dir, "Journal and status.json (a restart finishes an interrupted change)")
      ->capture_default_str();
  cmd->add_option("--metrics-file", o.metrics_file, "Write Prometheus metrics to this file (textfile collector)");
  cmd->add_option("--step-pause", o.step_pause,
                  "Seconds to wait after each installation step for packets routed by the old tables to drain")
      ->check(CLI::Range(0.0, 60.0));
  cmd->add_flag("--read-back", o.read_back,
                "Check each written LFT block with a fresh Get too (twice the SMPs); by default the Set's reply, "
                "which carries the switch's table, is checked, as a subnet manager does");
}

void AddManage(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ManageCmdOptions>();
  const std::string description =
      "Route manager service for a subnet no subnet manager routes (run `opensm -o` once for LIDs and\n"
      "port states): discovers the fabric, routes it with the engine chain, installs the routes, then\n"
      "sweeps the switches' port states every --period and on each change repairs only the routes that\n"
      "crossed what failed, verifies them, and installs the changed LFT blocks in a deadlock-free order.\n"
      "Each event is one JSON line on stdout and in --event-log. Runs until SIGTERM/SIGINT.";
  CLI::App* cmd = app.add_subcommand("manage", description + "\n`manage` alone is `manage run`.");
  AddRunOptions(cmd, *o);
  CLI::App* run_cmd = cmd->add_subcommand("run", description);
  AddRunOptions(run_cmd, *o);
  run_cmd->callback([o, &run] { run = [o] { return RunManage(*o); }; });
  auto s = std::make_shared<StatusCmdOptions>();
  CLI::App* status = cmd->add_subcommand(
      "status", "Print the running service's state (its status.json). Exit 1 when endpoints are unreachable.");
  status->add_option("--state-dir", s->state_dir, "The service's --state-dir")->capture_default_str();
  status->add_flag("--json", s->json, "Print status.json as it is");
  status->callback([s, &run] { run = [s] { return RunStatus(*s); }; });
  cmd->callback([o, cmd, &run] {
    if (cmd->got_subcommand("status") || cmd->got_subcommand("run")) return;
    run = [o] { return RunManage(*o); };
  });
}

}  // namespace fabricctl::cli
