// Transport over libibumad; packets are encoded by libibmad (mad_build_pkt) and decoded
// with its field tables, so nothing here hand-packs what rdma-core already does.
#include <fcntl.h>
#include <fmt/format.h>
#include <infiniband/mad.h>
#include <infiniband/umad.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "fabric/display_text.h"
#include "fabric/mad/transport.h"

namespace fabricctl::mad {

std::string DrPath::ToString() const {
  std::string s = "0";
  for (unsigned i = 1; i <= hops; ++i) s += fmt::format(",{}", port[i]);
  return s;
}

namespace {

class UmadTransport final : public Transport {
 public:
  UmadTransport(int portid, LocalPort local) : portid_(portid), local_(std::move(local)) {
    buffer_.resize(umad_size() + kMadSize);
  }
  ~UmadTransport() override {
    for (int agent : {smp_dr_agent_, smp_lid_agent_, perf_agent_})
      if (agent >= 0) umad_unregister(portid_, agent);
    umad_close_port(portid_);
    if (issm_fd_ >= 0) close(issm_fd_);  // gives the SM role back
  }

  // The SM role: while the issm device is open the port's CapabilityMask has IsSM, and the
  // switches' traps to the SM LID are delivered to the agent registered for Trap.
  Result<void> TakeSmRole() {
    char path[256];
    if (umad_get_issm_path(local_.ca.c_str(), local_.port, path, sizeof path) < 0)
      return std::unexpected(Error{.message = "cannot find the port's issm device", .where = Where()});
    issm_fd_ = open(path, O_RDWR | O_CLOEXEC);
    if (issm_fd_ < 0)
      return std::unexpected(
          Error{.message = fmt::format("cannot open {} to take the subnet manager role: {} (is another SM running?)",
                                       path, std::strerror(errno)),
                .where = Where()});
    return {};
  }

  // `traps`: the LID-routed agent also takes unsolicited Trap MADs (method 0x05), as the SM.
  Result<void> Register(bool traps) {
    smp_dr_agent_ = umad_register(portid_, IB_SMI_DIRECT_CLASS, 1, 0, nullptr);
    long trap_methods[16 / sizeof(long)] = {};
    trap_methods[0] = 1L << kTrapMethod;
    smp_lid_agent_ = umad_register(portid_, IB_SMI_CLASS, 1, 0, traps ? trap_methods : nullptr);
    perf_agent_ = umad_register(portid_, IB_PERFORMANCE_CLASS, 1, 0, nullptr);
    if (smp_dr_agent_ < 0 || smp_lid_agent_ < 0 || perf_agent_ < 0)
      return std::unexpected(Error{.message = "cannot register MAD agents (SMP needs root or access to "
                                              "/dev/infiniband/umad*; is another SM agent bound?)",
                                   .where = Where()});
    return {};
  }

  Result<void> Send(const Request& request, uint32_t tid, int timeout_ms) override {
    std::fill(buffer_.begin(), buffer_.end(), 0);
    ib_rpc_t rpc{};
    rpc.mgtclass = static_cast<int>(request.mgmt_class);
    rpc.method = static_cast<int>(request.method);
    rpc.attr.id = request.attr_id;
    rpc.attr.mod = request.attr_mod;
    rpc.trid = tid;
    ib_portid_t dport{};
    int agent = smp_dr_agent_;
    if (request.mgmt_class == MgmtClass::kPerformance) {
      rpc.dataoffs = kGmpDataOffset;
      rpc.datasz = kGmpDataSize;
      dport.lid = request.lid;
      dport.qp = 1;
      dport.qkey = IB_DEFAULT_QP1_QKEY;
      agent = perf_agent_;
    } else {
      rpc.dataoffs = kSmpDataOffset;
      rpc.datasz = kSmpDataSize;
      if (request.mgmt_class == MgmtClass::kSmpLid) {
        dport.lid = request.lid;
        agent = smp_lid_agent_;
      } else {
        dport.drpath.cnt = request.path.hops;
        std::memcpy(dport.drpath.p, request.path.port.data(), request.path.hops + 1u);
        dport.drpath.drslid = 0xffff;
        dport.drpath.drdlid = 0xffff;
      }
    }
    // Sets carry the attribute; PMA Gets carry PortSelect in it too. SMP Gets send zeros.
    void* data = const_cast<uint8_t*>(request.data.data());
    int len = mad_build_pkt(buffer_.data(), &rpc, &dport, nullptr, data);
    if (len < 0) return std::unexpected(Error{.message = "cannot encode MAD", .where = Where()});
    // Timeouts and retries are ours (MadRpc): the kernel's would hide which attempt answered.
    BoundSimulatorWaits(timeout_ms);
    errno = 0;
    int rc = umad_send(portid_, agent, buffer_.data(), static_cast<int>(kMadSize), 0, 0);
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return std::unexpected(Error{
          .message = fmt::format("the fabric did not take the MAD within {} ms (timed out: is the subnet, or ibsim, "
                                 "stopped?)",
                                 timeout_ms),
          .where = Where()});
    if (rc < 0)
      return std::unexpected(
          Error{.message = fmt::format("umad_send failed: {}", std::strerror(errno ? errno : -rc)), .where = Where()});
    return {};
  }

  // libumad2sim hands MADs to ibsim over datagram sockets with blocking writes and reads:
  // a stopped simulator stops reading, and a send (or the disconnect at exit) would wait
  // forever. Its sockets are ours (this process's), so give them the caller's timeout.
  void SetSimulatorSockets(std::vector<int> sockets) { simulator_sockets_ = std::move(sockets); }
  void BoundSimulatorWaits(int timeout_ms) {
    if (simulator_sockets_.empty() || timeout_ms == socket_timeout_ms_) return;
    timeval limit{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    for (int fd : simulator_sockets_) {
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    }
    socket_timeout_ms_ = timeout_ms;
  }

  // Traps are taken here, whoever receives: the caller sees none, only that nothing else
  // arrived this time (it waits again for what it expects, by its own deadlines).
  Result<std::optional<Reply>> Receive(int timeout_ms) override {
    auto reply = ReceiveOne(timeout_ms);
    if (!reply || !*reply || !IsTrap(**reply)) return reply;
    if (auto r = AnswerTrap(**reply); !r) return std::unexpected(r.error());
    return std::optional<Reply>{};
  }

  std::vector<uint16_t> TakeTraps() override { return std::exchange(traps_, {}); }

  Result<bool> WaitForTrap(int timeout_ms) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
    while (traps_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      // Nothing else is outstanding between sweeps: any other MAD is a late answer.
      if (auto r = Receive(static_cast<int>(left.count())); !r) return std::unexpected(r.error());
    }
    return !traps_.empty();
  }

  Result<std::optional<Reply>> ReceiveOne(int timeout_ms) {
    int length = static_cast<int>(kMadSize);
    int rc = umad_recv(portid_, buffer_.data(), &length, timeout_ms);
    if (rc == -ETIMEDOUT || rc == -EAGAIN || rc == -EINTR) {
      receive_errors_ = 0;
      return std::optional<Reply>{};
    }
    // One failed receive is taken as nothing received: libumad2sim's poll reports a wake-up
    // that finds its queue empty as an error, with whatever errno was left, under load. A
    // device that keeps failing fails the call.
    if (rc < 0 && ++receive_errors_ < kReceiveErrorsTolerated) return std::optional<Reply>{};
    if (rc < 0)
      return std::unexpected(
          Error{.message = fmt::format("umad_recv failed {} times in a row: {}", receive_errors_, std::strerror(-rc)),
                .where = Where()});
    receive_errors_ = 0;
    // A send that the kernel could not deliver comes back with a status and no answer.
    if (umad_status(buffer_.data()) != 0) return std::optional<Reply>{};
    trap_source_lid_ = be16toh(umad_get_mad_addr(buffer_.data())->lid);
    Reply reply;
    std::memcpy(reply.mad.data(), umad_get_mad(buffer_.data()), kMadSize);
    uint8_t* mad = reply.mad.data();
    reply.mgmt_class = static_cast<MgmtClass>(mad_get_field(mad, 0, IB_MAD_MGMTCLASS_F));
    reply.is_response = mad_get_field(mad, 0, IB_MAD_RESPONSE_F) != 0;
    reply.tid = static_cast<uint32_t>(mad_get_field64(mad, 0, IB_MAD_TRID_F));
    reply.status =
        static_cast<uint16_t>(reply.mgmt_class == MgmtClass::kSmpDirected ? mad_get_field(mad, 0, IB_DRSMP_STATUS_F)
                                                                          : mad_get_field(mad, 0, IB_MAD_STATUS_F));
    return std::optional<Reply>{reply};
  }

  const LocalPort& local() const override { return local_; }

 private:
  static constexpr int kTrapMethod = 0x05;
  static constexpr int kTrapRepressMethod = 0x07;
  static constexpr uint16_t kNoticeAttribute = 0x0002;

  static bool IsTrap(const Reply& r) {
    auto* mad = const_cast<uint8_t*>(r.mad.data());  // libibmad's getters take non-const
    return r.mgmt_class == MgmtClass::kSmpLid && mad_get_field(mad, 0, IB_MAD_METHOD_F) == kTrapMethod &&
           mad_get_field(mad, 0, IB_MAD_ATTRID_F) == kNoticeAttribute;
  }

  // Notes the reporting switch (Notice IssuerLID, IBA 14.2.5.1) and answers with TrapRepress, the
  // same MAD with method 0x07 back to the sender, so the switch stops repeating it.
  Result<void> AnswerTrap(const Reply& trap) {
    const uint8_t* notice = trap.data();
    traps_.push_back(static_cast<uint16_t>(notice[6] << 8 | notice[7]));
    std::fill(buffer_.begin(), buffer_.end(), 0);
    uint8_t* mad = static_cast<uint8_t*>(umad_get_mad(buffer_.data()));
    std::memcpy(mad, trap.mad.data(), kMadSize);
    mad_set_field(mad, 0, IB_MAD_METHOD_F, kTrapRepressMethod);
    umad_set_addr(buffer_.data(), trap_source_lid_, 0, 0, 0);
    if (umad_send(portid_, smp_lid_agent_, buffer_.data(), static_cast<int>(kMadSize), 0, 0) < 0)
      return std::unexpected(
          Error{.message = fmt::format("cannot send TrapRepress to LID {}", trap_source_lid_), .where = Where()});
    return {};
  }

  std::string Where() const { return fmt::format("{}:{}", local_.ca, local_.port); }

  int portid_;
  LocalPort local_;
  int smp_dr_agent_ = -1;
  int smp_lid_agent_ = -1;
  int perf_agent_ = -1;
  int issm_fd_ = -1;
  static constexpr unsigned kReceiveErrorsTolerated = 3;
  unsigned receive_errors_ = 0;  // failed receives in a row
  uint16_t trap_source_lid_ = 0;
  std::vector<uint16_t> traps_;
  std::vector<uint8_t> buffer_;
  std::vector<int> simulator_sockets_;
  int socket_timeout_ms_ = -1;
};

bool SimulatorPreloaded() {
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr && std::strstr(preload, "umad2sim") != nullptr;
}

// Whether the host has umad devices: ibsim's shim fakes /sys/class/infiniband_mad for
// libibumad's own reads but not for stat(), so a preloaded shim counts as yes.
bool UmadSysfsPresent() { return SimulatorPreloaded() || std::filesystem::exists("/sys/class/infiniband_mad"); }

// How long opening waits for the simulator: a few MAD timeouts, but never less than a busy
// machine's scheduling delay.
int OpenWaitMs(int timeout_ms) { return std::max(2000, std::min(timeout_ms, 100'000) * 5); }

// ibsim's control message (struct sim_ctl in ibsim.h). Type 0 (SIM_CTL_ERROR) is a reply
// type, not a request: ibsim changes nothing, logs "bad ctl pkt type 0" and sends the
// message back, which makes it a ping.
struct SimulatorControl {
  uint32_t magic = 0xdeadbeef;
  uint32_t client_id = 0;
  uint32_t type = 0;
  uint32_t length = 0;
  std::array<char, 64> data{};
};

enum class SimulatorState { kAnswers, kAbsent, kSilent };

// Sends one ping to the simulator's control socket "@NAME:ctl" and waits at most wait_ms for
// the answer. Nothing here waits without a limit: the socket is non-blocking, so a full queue
// to a stopped simulator counts as silence too.
SimulatorState PingSimulator(const std::string& sockname, int wait_ms) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SimulatorState::kAbsent;
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  // Autobind: the kernel picks a unique abstract name for the answer to come back to.
  sockaddr_un self{.sun_family = AF_UNIX, .sun_path = {}};
  if (bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof(sa_family_t)) < 0) return SimulatorState::kAbsent;
  // The name as ibsim and libumad2sim spell it: abstract, with its terminating NUL.
  std::string name = sockname + ":ctl";
  sockaddr_un sim{.sun_family = AF_UNIX, .sun_path = {}};
  if (name.size() + 2 > sizeof sim.sun_path) return SimulatorState::kAbsent;
  std::memcpy(sim.sun_path + 1, name.data(), name.size());
  auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 2);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sim), length) < 0) return SimulatorState::kAbsent;
  SimulatorControl ping;
  if (send(fd, &ping, sizeof ping, 0) != static_cast<ssize_t>(sizeof ping))
    return errno == EAGAIN || errno == EWOULDBLOCK ? SimulatorState::kSilent : SimulatorState::kAbsent;
  pollfd answer{.fd = fd, .events = POLLIN, .revents = 0};
  if (poll(&answer, 1, wait_ms) <= 0) return SimulatorState::kSilent;
  SimulatorControl reply;
  return recv(fd, &reply, sizeof reply, 0) < 0 ? SimulatorState::kAbsent : SimulatorState::kAnswers;
}

// libumad2sim (ibsim's umad shim) attaches to the simulator inside libibumad's first call and
// waits for it without a limit; a simulator that is not running, or is stopped (SIGSTOP),
// would hold us forever. A stopped one would also take the attach it had queued as its
// first act when resumed, and exit (ibpanic) when the attaching process is gone. So ask
// first, with a deadline, before libibumad touches it.
Result<void> CheckSimulator(int timeout_ms) {
  if (!SimulatorPreloaded()) return {};
  if (std::getenv("IBSIM_SERVER_NAME") != nullptr) return {};  // remote mode: UDP, not checked
  const char* sock = std::getenv("IBSIM_SOCKNAME");
  std::string sockname = sock ? sock : "sim";
  int wait_ms = OpenWaitMs(timeout_ms);
  switch (PingSimulator(sockname, wait_ms)) {
    case SimulatorState::kAnswers:
      return {};
    case SimulatorState::kAbsent:
      return std::unexpected(Error{.message = fmt::format("no ibsim simulator with IBSIM_SOCKNAME={} is running "
                                                          "(libumad2sim is preloaded; start ibsim -s NETFILE first)",
                                                          sock ? ShownValue(sock) : "sim (the default)"),
                                   .where = "ibsim"});
    case SimulatorState::kSilent:
      break;
  }
  return std::unexpected(
      Error{.message = fmt::format("the simulator with IBSIM_SOCKNAME={} did not answer within {} ms, so the MAD layer "
                                   "cannot open its port (is ibsim stopped, e.g. by SIGSTOP or a debugger?)",
                                   ShownValue(sockname), wait_ms),
            .where = "ibsim"});
}

// The sockets libumad2sim opened in this process for IBSIM_SOCKNAME: "@NAME:ctlPID" and
// "@NAME:inPID" in /proc/net/unix, found among our descriptors by inode.
std::vector<int> SimulatorSockets() {
  if (!SimulatorPreloaded() || std::getenv("IBSIM_SERVER_NAME") != nullptr) return {};
  const char* sock = std::getenv("IBSIM_SOCKNAME");
  std::string base = fmt::format("@{}:", sock ? sock : "sim");
  std::string pid = std::to_string(getpid());
  std::vector<std::string> inodes;
  std::ifstream unix_sockets("/proc/net/unix");
  std::string line;
  while (std::getline(unix_sockets, line)) {
    // Num RefCount Protocol Flags Type St Inode Path
    std::istringstream fields(line);
    std::string num, refs, protocol, flags, type, state, inode, path;
    if (!(fields >> num >> refs >> protocol >> flags >> type >> state >> inode >> path)) continue;
    // Abstract names are shown with their NUL padding as trailing '@'s.
    while (path.size() > 1 && path.back() == '@') path.pop_back();
    if (path == base + "ctl" + pid || path == base + "in" + pid) inodes.push_back("socket:[" + inode + "]");
  }
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec) continue;
    if (std::find(inodes.begin(), inodes.end(), target.string()) != inodes.end())
      fds.push_back(std::atoi(entry.path().filename().c_str()));
  }
  return fds;
}

}  // namespace

Result<std::unique_ptr<Transport>> OpenUmadTransport(const std::string& ca, int port, int timeout_ms, bool as_sm) {
  if (auto r = CheckSimulator(timeout_ms); !r) return std::unexpected(r.error());
  std::string where = ca.empty() ? std::string("umad") : fmt::format("{}:{}", ca, port);
  if (umad_init() < 0)
    return std::unexpected(
        Error{.message = "cannot initialise libibumad (is the ib_umad module loaded?)", .where = where});
  char names[UMAD_MAX_DEVICES][UMAD_CA_NAME_LEN];
  int n = umad_get_cas_names(names, UMAD_MAX_DEVICES);
  // Without /sys/class/infiniband_mad libibumad still names its built-in default CA
  // ("mthca0"), which does not exist.
  if (n > 0 && !UmadSysfsPresent()) n = 0;
  if (n <= 0)
    return std::unexpected(Error{.message = "no InfiniBand device with a umad interface found (no /sys/class/"
                                            "infiniband_mad; for ibsim run with LD_PRELOAD=libumad2sim.so)",
                                 .where = where});
  if (!ca.empty()) {
    bool found = false;
    std::string known;
    for (int i = 0; i < n; ++i) {
      found = found || ca == names[i];
      known += (i ? ", " : "") + std::string(names[i]);
    }
    if (!found)
      return std::unexpected(Error{.message = fmt::format("no such device (devices: {})", known), .where = where});
  }
  umad_port_t info{};
  if (umad_get_port(ca.empty() ? nullptr : ca.c_str(), port, &info) < 0) {
    std::string why = UmadSysfsPresent()
                          ? "cannot read the port (no such port, or no usable port)"
                          : "no InfiniBand device with a umad interface (no /sys/class/infiniband_mad: is ib_umad "
                            "loaded? for ibsim set LD_PRELOAD to libumad2sim.so)";
    return std::unexpected(Error{.message = why, .where = where});
  }
  LocalPort local{.ca = info.ca_name,
                  .port = info.portnum,
                  .lid = static_cast<uint32_t>(info.base_lid),
                  .sm_lid = static_cast<uint32_t>(info.sm_lid),
                  .port_guid = be64toh(info.port_guid),
                  .state = static_cast<int>(info.state)};
  umad_release_port(&info);
  where = fmt::format("{}:{}", local.ca, local.port);
  int portid = umad_open_port(local.ca.c_str(), local.port);
  if (portid < 0)
    return std::unexpected(Error{.message = fmt::format("cannot open umad port: {} (needs root or access to "
                                                        "/dev/infiniband/umad*)",
                                                        std::strerror(-portid)),
                                 .where = where});
  auto transport = std::make_unique<UmadTransport>(portid, std::move(local));
  transport->SetSimulatorSockets(SimulatorSockets());
  // Agents first: traps reach the port as soon as it holds the SM role, and a MAD of a class
  // no agent takes makes libumad2sim's receiver fail (a NULL queue), so no gap between them.
  if (auto r = transport->Register(as_sm); !r) return std::unexpected(r.error());
  if (as_sm)
    if (auto r = transport->TakeSmRole(); !r) return std::unexpected(r.error());
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace fabricctl::mad
