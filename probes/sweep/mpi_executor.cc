#include "probes/sweep/mpi_executor.h"

#ifdef FABRICCTL_HAVE_MPI

#include <fmt/format.h>
#include <ifaddrs.h>
#include <mpi.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "fabric/display_text.h"
#include "probes/agent.h"
#include "probes/control_protocol.h"
#include "probes/order_item.h"
#include "probes/socket_util.h"
#include "probes/sweep/agents_file.h"
#include "probes/tcp_transport.h"
#include "probes/verbs_transport.h"

namespace fabricctl::sweep {
namespace {

// A latency test keeps a CPU busy at each end: the client waiting for each echo, the
// server echoing (both poll, so a round trip measures the path and not a wake-up).
constexpr int kThreadsPerLatencyTest = 2;

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
  bool failed = false;        // the job did not start
  std::string start_problem;  // rank 0: why
  bool ended = false;
  AgentsFile agents;
  std::vector<probes::SocketAddress> data;  // by entry of `agents`: its DATA_ADDR
  std::vector<bool> mine;                   // by PortId: this rank probes from it
  std::vector<int> owner;                   // rank 0: rank owning each PortId, -1 for none
  probes::Bytes token;
  probes::OrderSettings settings;
  std::vector<Server> servers;
  std::atomic<bool> stop_servers{false};
  int node_ranks = 1, node_cpus = 1;  // the job's ranks on this node, and the CPUs they may use
  std::string notice;                 // rank 0: hosts whose ranks share too few CPUs

  State(const Fabric& f, MpiJobOptions o) : fabric(f), options(std::move(o)) {}
  ~State() override;

  Result<void> Setup();
  Result<void> FindOwnPorts();
  const probes::SocketAddress& DataAddress(const PortAgent& entry) const {
    return data[&entry - agents.entries().data()];
  }
  Result<std::unique_ptr<probes::ClientTransport>> MakeClient(const probes::OrderItem& item) const;
  Result<void> StartServers();
  void CountNodeCpus();
  std::string AgreeOnOwners(const std::string& local_problem);
  std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) override;
  std::vector<std::uint8_t> RunOwned(std::span<const ProbeTask> tasks);
  struct OwnedProbe;
  OwnedProbe Prepare(const ProbeTask& task, size_t index) const;
  void Collect(std::span<const ProbeTask> tasks, std::span<const std::vector<std::uint8_t>> replies,
               std::vector<ProbeOutcome>& out) const;
  void StopServers();
};

// Finds this rank's ports and starts its servers; a problem is this rank's alone.
Result<void> MpiJob::State::Setup() {
  auto parsed = ParseAgentsFile(fabric, options.agents_text, options.agents_file);
  if (!parsed) return std::unexpected(parsed.error());
  agents = std::move(*parsed);
  settings = {.transport = options.probe_transport,
              .latency_iterations = options.latency_iterations,
              .message_size = options.message_size,
              .bandwidth_duration = options.bandwidth_duration,
              .timeout = options.timeout};
  if (auto found = FindOwnPorts(); !found) return found;
  return StartServers();
}

// The ports whose DATA_ADDR is one of this host's addresses.
Result<void> MpiJob::State::FindOwnPorts() {
  data.clear();
  for (const PortAgent& entry : agents.entries()) {
    auto address = probes::ParseHostPort(entry.data, probes::kDefaultAgentPort);
    if (!address) return MakeInputError(options.agents_file, entry.line, address.error().message);
    data.push_back(*address);
  }
  std::vector<probes::SocketAddress> local = LocalAddresses();
  auto on_this_host = [&](const PortAgent& entry) {
    return std::ranges::any_of(
        local, [&](const probes::SocketAddress& a) { return probes::SameHost(a.addr, DataAddress(entry).addr); });
  };
  mine.assign(fabric.num_port_slots(), false);
  for (PortId p = 0; p < mine.size(); ++p)
    if (const PortAgent* entry = agents.Find(p)) mine[p] = on_this_host(*entry);
  return {};
}

// The transport of one probe: TCP bound to the source port's address and dev= (as an
// agent's order runs it), or verbs on the job's device.
Result<std::unique_ptr<probes::ClientTransport>> MpiJob::State::MakeClient(const probes::OrderItem& item) const {
  if (options.probe_transport == "verbs") return probes::MakeVerbsClientTransport({.device = options.rdma_device});
  return probes::MakeDefaultOrderTransport("tcp", item);
}

Result<void> MpiJob::State::StartServers() {
  std::map<std::string, const probes::SocketAddress*> listen;  // one server per DATA_ADDR:PORT
  for (PortId p = 0; p < mine.size(); ++p)
    if (mine[p]) listen.emplace(agents.Find(p)->data, &DataAddress(*agents.Find(p)));
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

// Collective: the ranks on this node and the CPUs they may use between them (the union of
// their CPU masks: a launcher that binds each rank to a core leaves each one CPU).
void MpiJob::State::CountNodeCpus() {
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &node_ranks);
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) == 0) {
    const long online = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    for (long c = 0; c < online && c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
  }
  std::array<std::uint64_t, sizeof(cpu_set_t) / sizeof(std::uint64_t)> mask{}, all{};
  std::memcpy(mask.data(), &set, sizeof mask);
  MPI_Request request;
  MPI_Iallreduce(mask.data(), all.data(), static_cast<int>(all.size()), MPI_UINT64_T, MPI_BOR, node, &request);
  Wait(request);
  MPI_Comm_free(&node);
  node_cpus = 0;
  for (std::uint64_t word : all) node_cpus += std::popcount(word);
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
  report["node_ranks"] = node_ranks;
  report["node_cpus"] = node_cpus;
  report["ports"] = nlohmann::json::array();
  for (PortId p = 0; p < mine.size(); ++p)
    if (mine[p]) report["ports"].push_back(p);
  std::vector<std::vector<std::uint8_t>> reports = GatherBytes(ToWire(report), rank, size);
  std::vector<std::string> problems;
  std::map<std::string, std::string> crowded;  // host -> "R ranks, C CPUs"
  owner.assign(mine.size(), -1);
  for (int r = 0; r < static_cast<int>(reports.size()); ++r) {
    nlohmann::json j = FromWire(reports[r]);
    if (!j.is_object() || !j["problem"].is_string() || !j["ports"].is_array()) {
      problems.push_back(fmt::format("rank {}: sent a malformed report", r));
      continue;
    }
    std::string who = fmt::format("rank {} (host {}, addresses {})", r, j.value("host", "?"), j.value("addresses", ""));
    auto count = [&](const char* key) { return j[key].is_number_integer() ? j[key].get<int>() : 0; };
    const int ranks_there = count("node_ranks"), cpus_there = count("node_cpus");
    if (cpus_there > 0 && ranks_there * kThreadsPerLatencyTest > cpus_there)
      crowded[j.value("host", "?")] =
          fmt::format("{} ranks, {} CPU{}", ranks_there, cpus_there, cpus_there == 1 ? "" : "s");
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
  if (!crowded.empty())
    notice = fmt::format(
        "ranks share too few CPUs on {} host{} ({}: {}): a latency test keeps a CPU busy at each end, so latency "
        "measured there includes the host's load and may show as latency findings; give each rank two CPUs",
        crowded.size(), crowded.size() == 1 ? "" : "s", crowded.begin()->first, crowded.begin()->second);
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

// One probe of this rank's through the two phases of a round; a failure in either ends it.
struct MpiJob::State::OwnedProbe {
  size_t task = 0;  // its index in the round
  probes::OrderItem item;
  std::unique_ptr<probes::ClientTransport> client;
  ProbeOutcome outcome;
  bool failed() const { return !outcome.failure.empty(); }
  void Fail(std::string reason) { outcome = {.failure = std::move(reason)}; }
};

MpiJob::State::OwnedProbe MpiJob::State::Prepare(const ProbeTask& task, size_t index) const {
  OwnedProbe probe{.task = index};
  const PortAgent* src = agents.Find(task.src);
  const PortAgent* dst = agents.Find(task.dst);
  if (!dst) {
    probe.Fail(fmt::format("{} has no DATA_ADDR in {}", fabric.PortName(task.dst), options.agents_file));
    return probe;
  }
  probe.item = {.source = src->host, .device = src->device, .rdma = src->rdma, .target = dst->data};
  auto client = MakeClient(probe.item);
  if (!client)
    probe.Fail(client.error().Format());
  else
    probe.client = std::move(*client);
  return probe;
}

namespace {

// Calls work(i) for every i below n, `parallel` at a time.
void ForEachInParallel(size_t n, unsigned parallel, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  const size_t count = std::min<size_t>(std::max(1u, parallel), n);
  for (size_t t = 0; t < count; ++t)
    threads.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) work(i);
    });
  for (std::thread& t : threads) t.join();
}

// Every rank reaches this point before any goes on.
void Barrier() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  Wait(request);
}

}  // namespace

// Runs the tasks whose source port this rank owns, side by side, and returns their
// outcomes as [task index, status, gbps, latency_us, failure] in wire form. Every rank's
// latency tests end before any bandwidth test starts (a barrier between the phases), so no
// latency test measures the queue of another probe's bulk transfer.
std::vector<std::uint8_t> MpiJob::State::RunOwned(std::span<const ProbeTask> tasks) {
  std::vector<OwnedProbe> owned;
  for (size_t k = 0; k < tasks.size(); ++k)
    if (tasks[k].src < mine.size() && mine[tasks[k].src]) owned.push_back(Prepare(tasks[k], k));
  for (probes::OrderTests phase : {probes::OrderTests::kLatency, probes::OrderTests::kBandwidth}) {
    probes::OrderSettings phase_settings = settings;
    phase_settings.tests = phase;
    ForEachInParallel(owned.size(), options.parallel, [&](size_t i) {
      OwnedProbe& p = owned[i];
      if (p.failed()) return;
      auto result = probes::RunOrderItem(p.item, phase_settings, token, *p.client);
      if (!result) return p.Fail(result.error().Format());
      Measurement& m = p.outcome.measurement;
      if (phase == probes::OrderTests::kLatency) {
        m.latency_us = result->latency_us;
      } else {
        m.gbps = result->gbps;
        m.status = ProbeStatus::kMeasured;
      }
    });
    if (phase == probes::OrderTests::kLatency) Barrier();
  }
  nlohmann::json j = nlohmann::json::array();
  for (const OwnedProbe& p : owned) {
    const Measurement& m = p.outcome.measurement;
    j.push_back({p.task, static_cast<int>(m.status), m.gbps, m.latency_us, p.outcome.failure});
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
  state->CountNodeCpus();
  auto setup = state->Setup();
  std::string problem = state->AgreeOnOwners(setup ? "" : setup.error().Format());
  auto job = std::unique_ptr<MpiJob>(new MpiJob(std::move(state)));
  if (problem.empty()) return job;
  job->state_->failed = true;
  job->state_->ended = true;  // no rank serves rounds
  job->state_->StopServers();
  if (job->coordinator()) job->state_->start_problem = "the job cannot start:\n" + problem;
  return job;
}

int MpiJob::rank() const { return state_->rank; }
int MpiJob::size() const { return state_->size; }
ProbeExecutor& MpiJob::executor() { return *state_; }
const std::string& MpiJob::start_problem() const { return state_->start_problem; }
const std::string& MpiJob::notice() const { return state_->notice; }

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
namespace {
const std::string& None() {
  static const std::string none;
  return none;
}
}  // namespace
const std::string& MpiJob::start_problem() const { return None(); }
const std::string& MpiJob::notice() const { return None(); }
bool MpiJob::Serve() { return false; }
void MpiJob::End() {}

}  // namespace fabricctl::sweep

#endif
