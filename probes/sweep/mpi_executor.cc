#include "probes/sweep/mpi_executor.h"

#ifdef FABRICCTL_HAVE_MPI

#include <fmt/format.h>
#include <ifaddrs.h>
#include <mpi.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "fabric/display_text.h"
#include "fabric/text_lines.h"
#include "probes/agent.h"
#include "probes/control_protocol.h"
#include "probes/probe_client.h"
#include "probes/socket_util.h"
#include "probes/tcp_transport.h"
#include "probes/verbs_transport.h"

namespace fabricctl::sweep {
namespace {

// ---- the agents file (version 2): DATA_ADDR of each endpoint port ----

struct DataAddress {
  std::string text;  // "ADDR:PORT" as probes dial it
  probes::SocketAddress address;
};

// Blank-separated words of a line, comment cut.
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  line = line.substr(0, line.find('#'));
  for (size_t pos = 0;;) {
    size_t start = line.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) return words;
    pos = std::min(line.find_first_of(" \t", start), line.size());
    words.push_back(line.substr(start, pos - start));
  }
}

// The ports a `DESC` or `DESC[PORT]` word names: one port, or every port of an endpoint.
Result<std::vector<PortId>> NamedPorts(const Fabric& fabric, std::string_view word) {
  std::string_view desc = word;
  int number = -1;
  if (word.ends_with(']') && word.find('[') != std::string_view::npos) {
    size_t open = word.rfind('[');
    desc = word.substr(0, open);
    std::string_view digits = word.substr(open + 1, word.size() - open - 2);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || number < 1)
      return MakeError(fmt::format("'{}': expected DESC[PORT] with a port number from 1", ShownValue(word)));
  }
  auto node = fabric.FindByDescription(desc);
  if (!node) return MakeError(fmt::format("no node has the description '{}'", ShownValue(desc)));
  if (fabric.is_switch(*node)) return MakeError(fmt::format("'{}' is a switch, not an endpoint", ShownValue(desc)));
  unsigned ports = fabric.node(*node).num_ports;
  if (number > static_cast<int>(ports))
    return MakeError(fmt::format("'{}' has {} ports, not {}", ShownValue(desc), ports, number));
  if (number > 0) return std::vector<PortId>{fabric.port_id(*node, number)};
  std::vector<PortId> all;
  for (unsigned p = 1; p <= ports; ++p) all.push_back(fabric.port_id(*node, p));
  return all;
}

Result<void> CheckOptions(std::span<const std::string_view> words) {
  for (std::string_view word : words) {
    size_t eq = word.find('=');
    std::string_view key = word.substr(0, eq);
    if (eq == std::string_view::npos || eq + 1 == word.size())
      return MakeError(fmt::format("expected KEY=VALUE, got '{}'", ShownValue(word)));
    if (key != "control" && key != "dev" && key != "rdma")
      return MakeError(fmt::format("unknown key '{}' (known: control, dev, rdma)", ShownValue(key)));
  }
  return {};
}

// DATA_ADDR by PortId (empty text when the file does not list the port).
Result<std::vector<DataAddress>> ParseDataAddresses(const Fabric& fabric, std::string_view text,
                                                    const std::string& filename) {
  std::vector<DataAddress> by_port(fabric.ports().size());
  TextLines lines(text);
  size_t listed = 0;
  while (lines.Next()) {
    std::vector<std::string_view> words = Words(lines.line());
    if (words.empty()) continue;
    auto fail = [&](std::string message) {
      return MakeInputError(filename, lines.number(), std::move(message), std::string(lines.line()));
    };
    if (words.size() < 2) return fail("expected 'DESC[PORT] DATA_ADDR[:PORT] [control=..] [dev=..] [rdma=..]'");
    if (auto ok = CheckOptions(std::span(words).subspan(2)); !ok) return fail(ok.error().message);
    auto ports = NamedPorts(fabric, words[0]);
    if (!ports) return fail(ports.error().message);
    auto address = probes::ParseHostPort(words[1], probes::kDefaultAgentPort);
    if (!address) return fail(fmt::format("DATA_ADDR '{}': {}", ShownValue(words[1]), address.error().message));
    for (PortId p : *ports) {
      if (!by_port[p].text.empty()) return fail(fmt::format("{} is listed twice", fabric.PortName(p)));
      by_port[p] = {probes::AddressText(address->addr, address->len), *address};
      ++listed;
    }
  }
  if (listed == 0) return MakeInputError(filename, 0, "lists no endpoint port");
  return by_port;
}

// ---- this host ----

std::vector<probes::SocketAddress> LocalAddresses() {
  std::vector<probes::SocketAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6)) continue;
    probes::SocketAddress s;
    s.len = a->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&s.addr, a->ifa_addr, s.len);
    out.push_back(s);
  }
  ::freeifaddrs(list);
  return out;
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return PrintableText(name);
}

// Addresses without the port, for messages: "198.18.10.2, fe80::1".
std::string AddressList(const std::vector<probes::SocketAddress>& addresses) {
  std::vector<std::string> hosts;
  for (const probes::SocketAddress& a : addresses) {
    std::string text = probes::AddressText(a.addr, a.len);
    hosts.push_back(text.substr(0, text.rfind(':')));
  }
  return fmt::format("{}", fmt::join(hosts, ", "));
}

// ---- MPI plumbing: every collective goes through these ----

std::vector<std::uint8_t> ToWire(const nlohmann::json& j) { return nlohmann::json::to_cbor(j); }

nlohmann::json FromWire(std::span<const std::uint8_t> bytes) {
  return nlohmann::json::from_cbor(bytes.begin(), bytes.end(), true, false);  // discarded on bad input
}

// Waits for a non-blocking collective, polling with short sleeps. MPI's blocking calls
// spin: a rank waiting for the next round would take the CPU its probe servers and the
// other ranks on an oversubscribed host need. No timeout of its own: rank 0 reaches every
// collective within the probes' bounded waits, and a rank that dies ends the job.
void Wait(MPI_Request& request) {
  std::chrono::microseconds pause{10};
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(1));
  }
}

// Rank 0 receives every rank's bytes (in rank order); other ranks get an empty vector.
std::vector<std::vector<std::uint8_t>> GatherBytes(const std::vector<std::uint8_t>& mine, int rank, int size) {
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(rank == 0 ? size : 0), offsets(counts.size());
  MPI_Request request;
  MPI_Igather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  Wait(request);
  std::vector<std::uint8_t> all;
  if (rank == 0) {
    for (int r = 1; r < size; ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
    all.resize(static_cast<size_t>(offsets.back()) + counts.back());
  }
  MPI_Igatherv(mine.data(), count, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, 0, MPI_COMM_WORLD,
               &request);
  Wait(request);
  std::vector<std::vector<std::uint8_t>> out(counts.size());
  for (size_t r = 0; r < counts.size(); ++r)
    out[r].assign(all.begin() + offsets[r], all.begin() + offsets[r] + counts[r]);
  return out;
}

// Rank 0's bytes to every rank.
void BroadcastBytes(std::vector<std::uint8_t>& bytes) {
  std::uint64_t n = bytes.size();
  MPI_Request request;
  MPI_Ibcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &request);
  Wait(request);
  bytes.resize(n);
  MPI_Ibcast(bytes.data(), static_cast<int>(n), MPI_BYTE, 0, MPI_COMM_WORLD, &request);
  Wait(request);
}

// ---- probes ----

struct Server {
  std::unique_ptr<probes::Agent> agent;
  std::thread thread;
};

}  // namespace

struct MpiJob::State final : ProbeExecutor {
  const Fabric& fabric;
  MpiJobOptions options;
  int rank = 0, size = 1;
  bool failed = false;  // the job did not start
  bool ended = false;
  std::vector<DataAddress> data;  // by PortId
  std::vector<bool> mine;         // by PortId: this rank probes from it
  std::vector<int> owner;         // rank 0: rank owning each PortId, -1 for none
  probes::Bytes token;
  std::unique_ptr<probes::ClientTransport> client;
  std::vector<Server> servers;
  std::atomic<bool> stop_servers{false};

  State(const Fabric& f, MpiJobOptions o) : fabric(f), options(std::move(o)) {}
  ~State() override;

  Result<void> Setup();
  Result<void> StartServers();
  std::string AgreeOnOwners(const std::string& local_problem);
  std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) override;
  std::vector<std::uint8_t> RunOwned(std::span<const ProbeTask> tasks);
  ProbeOutcome RunOne(const ProbeTask& task);
  void Collect(std::span<const ProbeTask> tasks, std::span<const std::vector<std::uint8_t>> replies,
               std::vector<ProbeOutcome>& out) const;
  void StopServers();
};

// Finds this rank's ports and starts its servers; a problem is this rank's alone.
Result<void> MpiJob::State::Setup() {
  auto parsed = ParseDataAddresses(fabric, options.agents_text, options.agents_file);
  if (!parsed) return std::unexpected(parsed.error());
  data = std::move(*parsed);
  mine.assign(data.size(), false);
  std::vector<probes::SocketAddress> local = LocalAddresses();
  for (PortId p = 0; p < data.size(); ++p)
    mine[p] = !data[p].text.empty() && std::ranges::any_of(local, [&](const probes::SocketAddress& a) {
      return probes::SameHost(a.addr, data[p].address.addr);
    });
  if (options.probe_transport == "verbs") {
    auto v = probes::MakeVerbsClientTransport({.device = options.rdma_device});
    if (!v) return std::unexpected(v.error());
    client = std::move(*v);
  } else {
    client = probes::MakeTcpClientTransport();
  }
  return StartServers();
}

Result<void> MpiJob::State::StartServers() {
  std::map<std::string, const probes::SocketAddress*> listen;  // one server per DATA_ADDR:PORT
  for (PortId p = 0; p < data.size(); ++p)
    if (mine[p]) listen.emplace(data[p].text, &data[p].address);
  for (const auto& [text, address] : listen) {
    std::vector<std::unique_ptr<probes::ServerTransport>> transports;
    if (options.probe_transport == "verbs") {
      auto v = probes::MakeVerbsServerTransport({.device = options.rdma_device});
      if (!v) return std::unexpected(v.error());
      transports.push_back(std::move(*v));
    } else {
      transports.push_back(probes::MakeTcpServerTransport());
    }
    probes::LogSink log = options.server_log ? options.server_log : [](std::string_view) {};
    auto agent = std::make_unique<probes::Agent>(probes::AgentOptions{.listen = *address, .token = token},
                                                 std::move(transports), std::move(log));
    if (auto r = agent->Listen(); !r) return MakeError(fmt::format("probe server on {}: {}", text, r.error().message));
    Server& s = servers.emplace_back(Server{.agent = std::move(agent)});
    s.thread = std::thread([agent = s.agent.get(), this] { (void)agent->Run(stop_servers); });
  }
  return {};
}

void MpiJob::State::StopServers() {
  stop_servers = true;
  for (Server& s : servers)
    if (s.thread.joinable()) s.thread.join();
  servers.clear();
}

// Collective. Rank 0 learns every rank's ports and problems and returns the job's problem
// ("" when it can start); the other ranks return "" or "failed".
std::string MpiJob::State::AgreeOnOwners(const std::string& local_problem) {
  nlohmann::json report = {{"host", HostName()}, {"addresses", AddressList(LocalAddresses())}};
  report["problem"] = local_problem;
  report["ports"] = nlohmann::json::array();
  for (PortId p = 0; p < mine.size(); ++p)
    if (mine[p]) report["ports"].push_back(p);
  std::vector<std::vector<std::uint8_t>> reports = GatherBytes(ToWire(report), rank, size);
  std::vector<std::string> problems;
  owner.assign(data.size(), -1);
  for (int r = 0; r < static_cast<int>(reports.size()); ++r) {
    nlohmann::json j = FromWire(reports[r]);
    if (!j.is_object() || !j["problem"].is_string() || !j["ports"].is_array()) {
      problems.push_back(fmt::format("rank {}: sent a malformed report", r));
      continue;
    }
    std::string who = fmt::format("rank {} (host {}, addresses {})", r, j.value("host", "?"), j.value("addresses", ""));
    if (!j["problem"].get<std::string>().empty())
      problems.push_back(fmt::format("{}: {}", who, j["problem"].get<std::string>()));
    else if (j["ports"].empty() && !options.allow_idle_ranks)
      problems.push_back(
          fmt::format("{}: owns no endpoint port of {} (no DATA_ADDR is one of its addresses; "
                      "--allow-idle-ranks lets such a rank idle)",
                      who, options.agents_file));
    for (const nlohmann::json& port : j["ports"]) {
      PortId p = port.is_number_unsigned() ? port.get<PortId>() : kNone;
      if (p >= owner.size()) continue;
      if (owner[p] >= 0)
        problems.push_back(
            fmt::format("{} is owned by ranks {} and {}: run one rank per host", fabric.PortName(p), owner[p], r));
      owner[p] = r;
    }
  }
  std::vector<std::uint8_t> ok = {problems.empty()};
  BroadcastBytes(ok);
  if (rank != 0) return ok.size() == 1 && ok[0] ? "" : "failed";
  return fmt::format("{}", fmt::join(problems, "\n"));
}

// ---- rounds ----

// Wire form of a round: [probe, src, dst] per task.
nlohmann::json TasksToJson(std::span<const ProbeTask> tasks) {
  nlohmann::json j = nlohmann::json::array();
  for (const ProbeTask& t : tasks) j.push_back({t.probe, t.src, t.dst});
  return j;
}

ProbeOutcome MpiJob::State::RunOne(const ProbeTask& task) {
  auto fail = [](std::string reason) { return ProbeOutcome{.failure = std::move(reason)}; };
  if (task.dst >= data.size() || data[task.dst].text.empty())
    return fail(fmt::format("{} has no DATA_ADDR in {}", fabric.PortName(task.dst), options.agents_file));
  const std::string& peer = data[task.dst].text;
  probes::ProbeOptions lat{.peer = peer,
                           .tests = {probes::TestKind::kLatency},
                           .sizes = {64},
                           .iterations = options.latency_iterations,
                           .timeout = options.timeout,
                           .token = token};
  auto l = probes::RunProbe(lat, *client);
  if (!l || l->latency.empty()) return fail(l ? "no latency result" : l.error().Format());
  probes::ProbeOptions bw{.peer = peer,
                          .tests = {probes::TestKind::kBandwidth},
                          .sizes = {options.message_size},
                          .duration = options.bandwidth_duration,
                          .timeout = options.timeout,
                          .token = token};
  auto b = probes::RunProbe(bw, *client);
  if (!b || b->bandwidth.empty()) return fail(b ? "no bandwidth result" : b.error().Format());
  return {.measurement = {.status = ProbeStatus::kMeasured,
                          .gbps = b->bandwidth.front().gbps,
                          .latency_us = l->latency.front().p50_us}};
}

// Runs the tasks whose source port this rank owns, side by side, and returns their
// outcomes as [task index, status, gbps, latency_us, failure] in wire form.
std::vector<std::uint8_t> MpiJob::State::RunOwned(std::span<const ProbeTask> tasks) {
  std::vector<size_t> owned;
  for (size_t k = 0; k < tasks.size(); ++k)
    if (tasks[k].src < mine.size() && mine[tasks[k].src]) owned.push_back(k);
  std::vector<ProbeOutcome> outcomes(owned.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  size_t n_threads = std::min<size_t>(std::max(1u, options.parallel), owned.size());
  for (size_t t = 0; t < n_threads; ++t)
    threads.emplace_back([&] {
      for (size_t i = next++; i < owned.size(); i = next++) outcomes[i] = RunOne(tasks[owned[i]]);
    });
  for (std::thread& t : threads) t.join();
  nlohmann::json j = nlohmann::json::array();
  for (size_t i = 0; i < owned.size(); ++i) {
    const ProbeOutcome& o = outcomes[i];
    j.push_back(
        {owned[i], static_cast<int>(o.measurement.status), o.measurement.gbps, o.measurement.latency_us, o.failure});
  }
  return ToWire(j);
}

// Rank 0: places every rank's outcomes; a task no rank answered for says why.
void MpiJob::State::Collect(std::span<const ProbeTask> tasks, std::span<const std::vector<std::uint8_t>> replies,
                            std::vector<ProbeOutcome>& out) const {
  std::vector<bool> answered(tasks.size(), false);
  for (size_t r = 0; r < replies.size(); ++r) {
    nlohmann::json j = FromWire(replies[r]);
    if (!j.is_array()) continue;  // its tasks stay unanswered and say so below
    for (const nlohmann::json& e : j) {
      if (!e.is_array() || e.size() != 5 || !e[0].is_number_unsigned() || !e[1].is_number_integer() ||
          !e[2].is_number() || !e[3].is_number() || !e[4].is_string())
        continue;
      size_t k = e[0].get<size_t>();
      int status = e[1].get<int>();
      if (k >= tasks.size() || status < 0 || status > static_cast<int>(ProbeStatus::kUnmeasured)) continue;
      out[k] = {.measurement = {.status = static_cast<ProbeStatus>(status),
                                .gbps = e[2].get<double>(),
                                .latency_us = e[3].get<double>()},
                .failure = e[4].get<std::string>()};
      answered[k] = true;
    }
  }
  for (size_t k = 0; k < tasks.size(); ++k) {
    if (answered[k]) continue;
    int r = tasks[k].src < owner.size() ? owner[tasks[k].src] : -1;
    out[k].failure =
        r < 0 ? fmt::format("no rank owns {} (its DATA_ADDR is on no host of the job)", fabric.PortName(tasks[k].src))
              : fmt::format("rank {} sent no result for it", r);
  }
}

std::vector<ProbeOutcome> MpiJob::State::RunRound(std::span<const ProbeTask> tasks) {
  std::vector<std::uint8_t> wire = ToWire(TasksToJson(tasks));
  BroadcastBytes(wire);
  std::vector<std::vector<std::uint8_t>> replies = GatherBytes(RunOwned(tasks), rank, size);
  std::vector<ProbeOutcome> out(tasks.size());
  Collect(tasks, replies, out);
  return out;
}

MpiJob::State::~State() { StopServers(); }

namespace {

// A round as the other ranks receive it; an empty optional ends the job.
std::optional<std::vector<ProbeTask>> ReceiveRound() {
  std::vector<std::uint8_t> wire;
  BroadcastBytes(wire);
  nlohmann::json j = FromWire(wire);
  if (!j.is_array()) return std::nullopt;  // the end (rank 0 sends null)
  std::vector<ProbeTask> tasks;
  for (const nlohmann::json& t : j)
    if (t.is_array() && t.size() == 3 && t[0].is_number_unsigned() && t[1].is_number_unsigned() &&
        t[2].is_number_unsigned())
      tasks.push_back({.probe = t[0].get<size_t>(), .src = t[1].get<PortId>(), .dst = t[2].get<PortId>()});
  return tasks;
}

}  // namespace

MpiJob::MpiJob(std::unique_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<MpiJob>> MpiJob::Join(const Fabric& fabric, MpiJobOptions options) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return MakeError("MPI is already initialised: one job per process");
  int provided = 0;
  // Only the calling thread makes MPI calls; probe threads never do.
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  auto state = std::make_unique<State>(fabric, std::move(options));
  MPI_Comm_rank(MPI_COMM_WORLD, &state->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &state->size);
  if (state->rank == 0)  // this job's token: two random nonces, 256 bits
    for (int i = 0; i < 2; ++i) {
      probes::Nonce n = probes::RandomNonce();
      state->token.insert(state->token.end(), n.begin(), n.end());
    }
  BroadcastBytes(state->token);
  auto setup = state->Setup();
  std::string problem = state->AgreeOnOwners(setup ? "" : setup.error().Format());
  auto job = std::unique_ptr<MpiJob>(new MpiJob(std::move(state)));
  if (problem.empty()) return job;
  job->state_->failed = true;
  job->state_->ended = true;  // no rank serves rounds
  job->state_->StopServers();
  if (job->coordinator()) return MakeError("the job cannot start:\n" + problem);
  return job;
}

int MpiJob::rank() const { return state_->rank; }
int MpiJob::size() const { return state_->size; }
ProbeExecutor& MpiJob::executor() { return *state_; }

bool MpiJob::Serve() {
  if (state_->failed) return false;
  while (auto tasks = ReceiveRound()) GatherBytes(state_->RunOwned(*tasks), state_->rank, state_->size);
  state_->ended = true;
  return true;
}

void MpiJob::End() {
  if (state_->ended || !coordinator()) return;
  std::vector<std::uint8_t> end = ToWire(nullptr);
  BroadcastBytes(end);
  state_->ended = true;
}

MpiJob::~MpiJob() {
  End();
  state_->StopServers();
  // Every rank's servers stop before any rank leaves, so no probe of this job is cut off.
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  Wait(request);
  MPI_Finalize();
}

}  // namespace fabricctl::sweep

#else  // built without MPI

namespace fabricctl::sweep {

struct MpiJob::State {};

MpiJob::MpiJob(std::unique_ptr<State> state) : state_(std::move(state)) {}
MpiJob::~MpiJob() = default;
Result<std::unique_ptr<MpiJob>> MpiJob::Join(const Fabric&, MpiJobOptions) {
  return MakeError("--fabric mpi: fabricctl was built without MPI (install libopenmpi-dev and rebuild)");
}
int MpiJob::rank() const { return 0; }
int MpiJob::size() const { return 1; }
ProbeExecutor& MpiJob::executor() { std::abort(); }  // unreachable: Join never returns a job
bool MpiJob::Serve() { return false; }
void MpiJob::End() {}

}  // namespace fabricctl::sweep

#endif
