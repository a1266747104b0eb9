#pragma once
// Job mode: a sweep run as an MPI job (mpirun, or srun under Slurm), one rank per host.
// The launcher's machinery does rank discovery, round barriers and result gathering; no
// rank listens on anything before the job starts or after it ends.
//
// Every rank loads the same topology and agents file (version 2). A rank owns the endpoint
// ports whose DATA_ADDR is one of its own addresses and serves probes on those addresses
// in-process for the job's lifetime, with a random token rank 0 makes and broadcasts.
// Rank 0 drives the sweep through `executor()`: each round's tasks are broadcast, every
// rank runs the tasks whose source port it owns (probes/order_item.h: a latency then a
// bandwidth test against the destination's DATA_ADDR, bound to the source port's DATA_ADDR
// and dev=, each bounded by the timeout) and the outcomes are gathered back to rank 0. A rank that dies ends the whole
// job: that is what MPI does with a lost rank, and it is preferable to a sweep that silently lacks a host.
//
// All MPI calls live in mpi_executor.cc; a build without MPI reports so from Join.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/rate_limited_log.h"
#include "probes/sweep/probe_executor.h"

namespace fabricctl::sweep {

struct MpiJobOptions {
  std::string agents_text;              // the agents file (version 2), read by the caller
  std::string agents_file;              // its name, for messages
  std::string probe_transport = "tcp";  // "tcp" | "verbs"
  std::string rdma_device;              // verbs: device to probe from and serve on ("" = first)
  unsigned parallel = 8;                // probes at once on one rank within a round
  std::uint32_t message_size = 65536;   // bandwidth message size
  std::uint64_t latency_iterations = 1000;
  std::chrono::milliseconds bandwidth_duration{500};
  std::chrono::milliseconds timeout{5000};  // bound on every wait of one probe
  bool allow_idle_ranks = false;            // a rank owning no port idles instead of failing the job
  probes::LogSink server_log;               // lines of this rank's probe servers; dropped when empty
};

// One rank's membership in the job. Join and the destructor are collective: every rank
// of the job calls them.
class MpiJob {
 public:
  // Joins the job (MPI_Init), finds this rank's ports and starts its probe servers. When a
  // rank cannot start, every rank still gets its job: rank 0's start_problem() names every
  // rank that could not start (its host and addresses), and the other ranks' Serve()
  // returns false at once, so one message reports the failure instead of one per rank.
  // Rank 0 must report it while the job lives: the ranks leave together only when the job
  // is destroyed, and a rank that leaves early with an error makes the launcher end the
  // whole job, message unprinted.
  static Result<std::unique_ptr<MpiJob>> Join(const Fabric& fabric, MpiJobOptions options);
  ~MpiJob();  // rank 0 ends the other ranks' Serve(); every rank stops its servers and leaves MPI
  MpiJob(const MpiJob&) = delete;
  MpiJob& operator=(const MpiJob&) = delete;

  int rank() const;
  int size() const;
  bool coordinator() const { return rank() == 0; }
  // Rank 0: why the job cannot start; empty when it can.
  const std::string& start_problem() const;
  // Rank 0: a warning when some host's ranks have fewer than two CPUs each (a latency test
  // keeps one busy at each end, so latency there is partly the host's load); empty if none.
  const std::string& notice() const;
  // Rank 0: runs each round across all ranks. Valid while the job lives.
  ProbeExecutor& executor();
  // Ranks other than 0: runs this rank's share of every round until rank 0 ends the job.
  // False when the job failed to start (rank 0 reported why).
  bool Serve();
  // Rank 0: ends the other ranks' Serve() (the destructor does it too).
  void End();

  struct State;

 private:
  explicit MpiJob(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace fabricctl::sweep
