#include "probes/verbs_transport.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace fabricctl::probes {

namespace {

// ---- little helpers ----

std::int64_t NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t ToNs(std::chrono::milliseconds ms) { return static_cast<std::int64_t>(ms.count()) * 1'000'000; }

void PutLe(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t GetLe(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

constexpr std::uint8_t kQpInfoMagic[4] = {'F', 'Q', 'P', 'I'};
constexpr std::uint8_t kQpInfoVersion = 1;
// Registered memory per region (send and receive); bounds the slots a bandwidth test cycles.
constexpr std::uint64_t kRegionBudget = 32u << 20;

// ---- the payload every message carries: its sequence number, then a pattern ----

std::uint8_t PatternByte(std::uint32_t seed, std::uint32_t j) {
  return static_cast<std::uint8_t>(j * 131u + seed * 7u + 1u);
}
void FillPattern(std::uint8_t* p, std::uint32_t size, std::uint32_t seed) {
  for (std::uint32_t j = 0; j < size; ++j) p[j] = PatternByte(seed, j);
}
// Bytes of the sequence stamp at the start of a message; with a poll marker the last
// byte is reserved for the marker.
int StampBytes(std::uint32_t size, bool marker) {
  return static_cast<int>(std::min<std::uint32_t>(8, marker ? size - 1 : size));
}
std::uint64_t StampMask(int stamp_bytes) { return stamp_bytes >= 8 ? ~0ull : (1ull << (8 * stamp_bytes)) - 1; }
void Stamp(std::uint8_t* p, std::uint32_t size, bool marker, std::uint64_t seq) {
  PutLe(p, seq, StampBytes(size, marker));
}
// Empty string when the message is the one expected.
std::string CheckPayload(const std::uint8_t* p, std::uint32_t size, std::uint32_t seed, bool marker,
                         std::uint64_t seq) {
  const int sb = StampBytes(size, marker);
  if (const std::uint64_t got = GetLe(p, sb); got != (seq & StampMask(sb)))
    return fmt::format("message {} carries sequence number {}", seq, got);
  const std::uint32_t end = marker ? size - 1 : size;
  for (std::uint32_t j = static_cast<std::uint32_t>(sb); j < end; ++j)
    if (p[j] != PatternByte(seed, j))
      return fmt::format("message {}: byte {} is 0x{:02x}, expected 0x{:02x}", seq, j, p[j], PatternByte(seed, j));
  return {};
}

// ---- out-of-band messages during a test ----
// 'R' ready | 'D' u64 count (client done) | 'K' u64 count (agent verified) | 'E' text.

Bytes Tagged(char tag, std::uint64_t count) {
  Bytes b(9);
  b[0] = static_cast<std::uint8_t>(tag);
  PutLe(b.data() + 1, count, 8);
  return b;
}
Bytes ErrorMessage(std::string_view text) {
  const std::size_t n = std::min(text.size(), kMaxOobBytes - 1);
  Bytes b(1 + n);
  b[0] = 'E';
  if (n) std::memcpy(b.data() + 1, text.data(), n);
  return b;
}

struct OobMsg {
  char tag = 0;
  std::uint64_t count = 0;
  std::string text;
};

Result<OobMsg> ReceiveOob(OobChannel& oob, std::chrono::milliseconds timeout, std::string_view expect,
                          std::string_view peer) {
  auto r = oob.Receive(timeout);
  if (!r)
    return std::unexpected(Error{.message = fmt::format("{}: {}", peer, r.error().message), .where = r.error().where});
  const Bytes& b = *r;
  if (b.empty()) return MakeError(fmt::format("{}: empty verbs control message", peer));
  OobMsg m{.tag = static_cast<char>(b[0])};
  if (m.tag == 'E') {
    m.text.assign(b.begin() + 1, b.end());
    return m;
  }
  if (expect.find(m.tag) == std::string_view::npos || (m.tag == 'R' ? b.size() != 1 : b.size() != 9))
    return MakeError(
        fmt::format("{}: unexpected verbs control message (tag 0x{:02x}, {} bytes)", peer, b[0], b.size()));
  if (m.tag != 'R') m.count = GetLe(b.data() + 1, 8);
  return m;
}

// ---- one side's verbs resources ----

class Endpoint {
 public:
  static Result<std::unique_ptr<Endpoint>> Create(const VerbsOptions& options, std::uint32_t slot_size,
                                                  std::uint32_t slots, std::uint32_t window);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  QpInfo LocalInfo(VerbsLatencyMethod method) const;
  Result<void> ConnectTo(const QpInfo& remote);

  std::uint8_t* SendSlot(std::uint32_t i) { return buffer_ + static_cast<std::uint64_t>(i % slots_) * slot_size_; }
  std::uint8_t* RecvSlot(std::uint32_t i) {
    return buffer_ + region_bytes_ + static_cast<std::uint64_t>(i % slots_) * slot_size_;
  }
  std::uint64_t RemoteSlot(std::uint32_t i) const {
    return remote_.addr + static_cast<std::uint64_t>(i % remote_.slots) * remote_.slot_size;
  }

  Result<void> PostRecv(std::uint8_t* buf, std::uint32_t len);
  Result<void> PostSend(std::uint8_t* buf, std::uint32_t len, ibv_wr_opcode op, std::uint32_t imm_host,
                        std::uint64_t remote_addr, std::uint64_t wr_id);
  // Waits for up to `max` completions (at least one) until the deadline. Failed
  // completions are errors naming the operation.
  Result<int> Poll(ibv_cq* cq, ibv_wc* wc, int max, std::int64_t deadline_ns, std::string_view what);
  Result<ibv_wc> PollOne(ibv_cq* cq, std::int64_t deadline_ns, std::string_view what) {
    ibv_wc wc{};
    auto r = Poll(cq, &wc, 1, deadline_ns, what);
    if (!r) return std::unexpected(r.error());
    return wc;
  }
  Result<void> WaitByte(const std::uint8_t* p, std::uint8_t a, std::uint8_t b, std::uint8_t* seen,
                        std::int64_t deadline_ns, std::string_view what);

  ibv_cq* send_cq() const { return send_cq_; }
  ibv_cq* recv_cq() const { return recv_cq_; }
  std::uint32_t slots() const { return slots_; }
  std::uint32_t window() const { return window_; }
  const QpInfo& remote() const { return remote_; }
  const VerbsDevice& device() const { return *device_; }
  std::string where() const { return device_->where(); }
  Error Fail(std::string message) const { return Error{.message = std::move(message), .where = where()}; }

 private:
  Endpoint() = default;
  std::unique_ptr<VerbsDevice> device_;
  ibv_cq* send_cq_ = nullptr;
  ibv_cq* recv_cq_ = nullptr;
  ibv_qp* qp_ = nullptr;
  ibv_mr* mr_ = nullptr;
  std::uint8_t* buffer_ = nullptr;
  std::uint64_t region_bytes_ = 0;
  std::uint32_t slot_size_ = 0;
  std::uint32_t slots_ = 1;
  std::uint32_t window_ = 1;
  std::uint32_t psn_ = 0;
  QpInfo remote_;
};

Result<std::unique_ptr<Endpoint>> Endpoint::Create(const VerbsOptions& options, std::uint32_t slot_size,
                                                   std::uint32_t slots, std::uint32_t window) {
  auto dev = VerbsDevice::Open({.device = options.device, .port = options.port, .gid_index = options.gid_index});
  if (!dev) return std::unexpected(dev.error());
  std::unique_ptr<Endpoint> ep(new Endpoint());
  ep->device_ = std::move(*dev);
  ep->slot_size_ = slot_size;
  ep->slots_ = slots;
  ep->window_ = window;
  ep->region_bytes_ = static_cast<std::uint64_t>(slot_size) * slots;
  const std::uint64_t total = (2 * ep->region_bytes_ + 4095) / 4096 * 4096;
  ep->buffer_ = static_cast<std::uint8_t*>(std::aligned_alloc(4096, total));
  if (!ep->buffer_) return std::unexpected(ep->Fail(fmt::format("cannot allocate {} bytes of buffers", total)));
  std::memset(ep->buffer_, 0, total);

  ibv_context* ctx = ep->device_->context();
  ep->send_cq_ = ibv_create_cq(ctx, static_cast<int>(window + 8), nullptr, nullptr, 0);
  ep->recv_cq_ = ibv_create_cq(ctx, 16, nullptr, nullptr, 0);
  if (!ep->send_cq_ || !ep->recv_cq_)
    return std::unexpected(ep->Fail(fmt::format("ibv_create_cq: {}", std::strerror(errno))));
  ep->mr_ = ibv_reg_mr(ep->device_->pd(), ep->buffer_, total,
                       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
  if (!ep->mr_) return std::unexpected(ep->Fail(fmt::format("ibv_reg_mr ({} bytes): {}", total, std::strerror(errno))));

  ibv_qp_init_attr init{};
  init.send_cq = ep->send_cq_;
  init.recv_cq = ep->recv_cq_;
  init.qp_type = IBV_QPT_RC;
  init.cap.max_send_wr = window + 4;
  init.cap.max_recv_wr = 8;
  init.cap.max_send_sge = 1;
  init.cap.max_recv_sge = 1;
  ep->qp_ = ibv_create_qp(ep->device_->pd(), &init);
  if (!ep->qp_) return std::unexpected(ep->Fail(fmt::format("ibv_create_qp: {}", std::strerror(errno))));

  ibv_qp_attr attr{};
  attr.qp_state = IBV_QPS_INIT;
  attr.pkey_index = 0;
  attr.port_num = static_cast<std::uint8_t>(ep->device_->port());
  attr.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
  if (int rc = ibv_modify_qp(ep->qp_, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
    return std::unexpected(ep->Fail(fmt::format("queue pair to INIT: {}", std::strerror(rc))));
  // A PSN from the clock: distinct per session, so a stale packet of an earlier session
  // cannot land in this one.
  ep->psn_ = static_cast<std::uint32_t>(NowNs() / 1000) & 0xffffff;
  return ep;
}

Endpoint::~Endpoint() {
  if (qp_) ibv_destroy_qp(qp_);
  if (mr_) ibv_dereg_mr(mr_);
  if (send_cq_) ibv_destroy_cq(send_cq_);
  if (recv_cq_) ibv_destroy_cq(recv_cq_);
  std::free(buffer_);
}

QpInfo Endpoint::LocalInfo(VerbsLatencyMethod method) const {
  return QpInfo{.qpn = qp_->qp_num,
                .psn = psn_,
                .gid = device_->gid(),
                .lid = device_->lid(),
                .mtu = static_cast<std::uint8_t>(device_->active_mtu()),
                .link_layer = static_cast<std::uint8_t>(device_->link_layer()),
                .rkey = mr_->rkey,
                .addr = reinterpret_cast<std::uint64_t>(buffer_ + region_bytes_),
                .slot_size = slot_size_,
                .slots = slots_,
                .latency_method = method,
                .window = window_};
}

Result<void> Endpoint::ConnectTo(const QpInfo& remote) {
  remote_ = remote;
  ibv_qp_attr attr{};
  attr.qp_state = IBV_QPS_RTR;
  attr.path_mtu = static_cast<ibv_mtu>(std::min<int>(remote.mtu, device_->active_mtu()));
  attr.dest_qp_num = remote.qpn;
  attr.rq_psn = remote.psn;
  attr.max_dest_rd_atomic = 1;
  attr.min_rnr_timer = 12;  // 0.64 ms
  attr.ah_attr.dlid = remote.lid;
  attr.ah_attr.sl = 0;
  attr.ah_attr.src_path_bits = 0;
  attr.ah_attr.port_num = static_cast<std::uint8_t>(device_->port());
  // RoCE always routes by GID; InfiniBand only across subnets, but a GRH does no harm.
  if (device_->link_layer() == LinkLayer::kEthernet || !IsZeroGid(remote.gid)) {
    attr.ah_attr.is_global = 1;
    std::memcpy(attr.ah_attr.grh.dgid.raw, remote.gid.data(), 16);
    attr.ah_attr.grh.sgid_index = static_cast<std::uint8_t>(device_->gid_index());
    attr.ah_attr.grh.hop_limit = 64;
  }
  if (int rc = ibv_modify_qp(qp_, &attr,
                             IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                                 IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
    return std::unexpected(Fail(fmt::format("queue pair to RTR (remote qpn 0x{:06x}, gid {}): {}", remote.qpn,
                                            FormatGid(remote.gid), std::strerror(rc))));
  attr = {};
  attr.qp_state = IBV_QPS_RTS;
  attr.timeout = 14;  // 4.096 us * 2^14 = 67 ms per try: a dead peer shows within a second
  attr.retry_cnt = 7;
  attr.rnr_retry = 7;  // the peer posts receives just in time; wait for it
  attr.sq_psn = psn_;
  attr.max_rd_atomic = 1;
  if (int rc = ibv_modify_qp(qp_, &attr,
                             IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                                 IBV_QP_MAX_QP_RD_ATOMIC))
    return std::unexpected(Fail(fmt::format("queue pair to RTS: {}", std::strerror(rc))));
  return {};
}

Result<void> Endpoint::PostRecv(std::uint8_t* buf, std::uint32_t len) {
  ibv_sge sge{.addr = reinterpret_cast<std::uint64_t>(buf), .length = len, .lkey = mr_->lkey};
  ibv_recv_wr wr{};
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  if (int rc = ibv_post_recv(qp_, &wr, &bad))
    return std::unexpected(Fail(fmt::format("ibv_post_recv: {}", std::strerror(rc))));
  return {};
}

Result<void> Endpoint::PostSend(std::uint8_t* buf, std::uint32_t len, ibv_wr_opcode op, std::uint32_t imm_host,
                                std::uint64_t remote_addr, std::uint64_t wr_id) {
  ibv_sge sge{.addr = reinterpret_cast<std::uint64_t>(buf), .length = len, .lkey = mr_->lkey};
  ibv_send_wr wr{};
  wr.wr_id = wr_id;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = op;
  wr.send_flags = IBV_SEND_SIGNALED;
  if (op == IBV_WR_SEND_WITH_IMM || op == IBV_WR_RDMA_WRITE_WITH_IMM) wr.imm_data = htonl(imm_host);
  if (op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM) {
    wr.wr.rdma.remote_addr = remote_addr;
    wr.wr.rdma.rkey = remote_.rkey;
  }
  ibv_send_wr* bad = nullptr;
  if (int rc = ibv_post_send(qp_, &wr, &bad))
    return std::unexpected(Fail(fmt::format("ibv_post_send: {}", std::strerror(rc))));
  return {};
}

// Busy polling keeps latency honest; after a while without progress the loop yields so an
// emulated or shared machine still gets the peer and the kernel scheduled.
Result<int> Endpoint::Poll(ibv_cq* cq, ibv_wc* wc, int max, std::int64_t deadline_ns, std::string_view what) {
  for (std::uint64_t spins = 0;; ++spins) {
    const int n = ibv_poll_cq(cq, max, wc);
    if (n < 0) return std::unexpected(Fail(fmt::format("ibv_poll_cq failed while waiting for {}", what)));
    if (n > 0) {
      for (int i = 0; i < n; ++i)
        if (wc[i].status != IBV_WC_SUCCESS)
          return std::unexpected(
              Fail(fmt::format("{} failed: {} (peer gone or unreachable?)", what, ibv_wc_status_str(wc[i].status))));
      return n;
    }
    if ((spins & 255) == 255) {
      if (NowNs() > deadline_ns) return std::unexpected(Fail(fmt::format("timed out waiting for {}", what)));
      if (spins > 100'000) ::sched_yield();
    }
  }
}

Result<void> Endpoint::WaitByte(const std::uint8_t* p, std::uint8_t a, std::uint8_t b, std::uint8_t* seen,
                                std::int64_t deadline_ns, std::string_view what) {
  const volatile std::uint8_t* vp = p;
  for (std::uint64_t spins = 0;; ++spins) {
    const std::uint8_t v = *vp;
    if (v == a || v == b) {
      std::atomic_thread_fence(std::memory_order_acquire);
      *seen = v;
      return {};
    }
    if ((spins & 255) == 255) {
      if (NowNs() > deadline_ns) return std::unexpected(Fail(fmt::format("timed out waiting for {}", what)));
      if (spins > 100'000) ::sched_yield();
    }
  }
}

Result<void> CheckTestSpec(const TestSpec& spec, std::uint32_t slot_size) {
  if (spec.message_size < 1 || spec.message_size > slot_size)
    return MakeError(
        fmt::format("message size {} outside 1..{} (the session's maximum)", spec.message_size, slot_size));
  if (spec.iterations == 0 && spec.duration.count() <= 0) return MakeError("test needs iterations or a duration");
  return {};
}

std::uint32_t SlotsFor(std::uint32_t max_message_size, std::uint32_t window) {
  const std::uint64_t by_budget =
      std::max<std::uint64_t>(1, kRegionBudget / std::max<std::uint32_t>(1, max_message_size));
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(by_budget, 1, std::max<std::uint32_t>(1, window)));
}

constexpr std::uint32_t kLastFlag = 0x80000000u;
std::uint8_t Marker(std::uint64_t i) { return static_cast<std::uint8_t>(i % 254 + 1); }
constexpr std::uint8_t kLastMarker = 255;

// ---- client ----

class VerbsClientSession final : public ClientSession {
 public:
  VerbsClientSession(std::unique_ptr<Endpoint> ep, OobChannel& oob, VerbsLatencyMethod method, std::string peer)
      : ep_(std::move(ep)), oob_(oob), method_(method), peer_(std::move(peer)) {}

  Result<LatencyStats> RunLatency(const TestSpec& spec) override;
  Result<BandwidthStats> RunBandwidth(const TestSpec& spec) override;

 private:
  Result<void> WaitReady(const TestSpec& spec);
  Result<std::uint64_t> WaitVerdict(std::chrono::milliseconds timeout);
  std::unique_ptr<Endpoint> ep_;
  OobChannel& oob_;
  VerbsLatencyMethod method_;
  std::string peer_;
};

Result<void> VerbsClientSession::WaitReady(const TestSpec& spec) {
  auto m = ReceiveOob(oob_, spec.timeout, "R", "agent " + peer_);
  if (!m) return std::unexpected(m.error());
  if (m->tag == 'E') return MakeError(fmt::format("agent {} refused the test: {}", peer_, m->text));
  return {};
}

Result<std::uint64_t> VerbsClientSession::WaitVerdict(std::chrono::milliseconds timeout) {
  auto m = ReceiveOob(oob_, timeout, "K", "agent " + peer_);
  if (!m) return std::unexpected(m.error());
  if (m->tag == 'E') return MakeError(fmt::format("agent {}: {}", peer_, m->text));
  return m->count;
}

Result<LatencyStats> VerbsClientSession::RunLatency(const TestSpec& spec) {
  if (auto r = CheckTestSpec(spec, ep_->remote().slot_size); !r) return std::unexpected(r.error());
  const std::uint32_t size = spec.message_size;
  const bool poll_mode = method_ == VerbsLatencyMethod::kWritePoll;
  std::uint8_t* out = ep_->SendSlot(0);
  std::uint8_t* in = ep_->RecvSlot(0);
  FillPattern(out, size, size);
  std::memset(in, 0, size);
  if (auto r = WaitReady(spec); !r) return std::unexpected(r.error());

  const std::uint64_t total = spec.iterations ? spec.warmup + spec.iterations : 0;
  std::vector<double> samples;
  samples.reserve(spec.iterations ? spec.iterations : 1024);
  std::int64_t measure_end = 0;
  for (std::uint64_t i = 0;; ++i) {
    if (i == spec.warmup && !spec.iterations) measure_end = NowNs() + ToNs(spec.duration);
    const bool last = spec.iterations ? i + 1 == total : (i >= spec.warmup && NowNs() >= measure_end);
    Stamp(out, size, poll_mode, i);
    const std::int64_t deadline = NowNs() + ToNs(spec.timeout);
    std::int64_t t0 = 0, t1 = 0;
    if (poll_mode) {
      const std::uint8_t marker = last ? kLastMarker : Marker(i);
      out[size - 1] = marker;
      t0 = NowNs();
      if (auto r = ep_->PostSend(out, size, IBV_WR_RDMA_WRITE, 0, ep_->RemoteSlot(0), i); !r)
        return std::unexpected(r.error());
      std::uint8_t seen = 0;
      if (auto r =
              ep_->WaitByte(in + size - 1, marker, marker, &seen, deadline, fmt::format("the echo of write {}", i));
          !r)
        return std::unexpected(r.error());
      t1 = NowNs();
      if (auto r = ep_->PollOne(ep_->send_cq(), deadline, fmt::format("RDMA WRITE {}", i)); !r)
        return std::unexpected(r.error());
    } else {
      if (auto r = ep_->PostRecv(in, size); !r) return std::unexpected(r.error());
      const std::uint32_t imm = static_cast<std::uint32_t>(i & 0x7fffffff) | (last ? kLastFlag : 0);
      t0 = NowNs();
      if (auto r = ep_->PostSend(out, size, IBV_WR_SEND_WITH_IMM, imm, 0, i); !r) return std::unexpected(r.error());
      auto wc = ep_->PollOne(ep_->recv_cq(), deadline, fmt::format("the echo of message {}", i));
      if (!wc) return std::unexpected(wc.error());
      t1 = NowNs();
      if (!(wc->wc_flags & IBV_WC_WITH_IMM) || ntohl(wc->imm_data) != imm || wc->byte_len != size)
        return std::unexpected(
            ep_->Fail(fmt::format("echo of message {} has the wrong header ({} bytes)", i, wc->byte_len)));
      if (auto r = ep_->PollOne(ep_->send_cq(), deadline, fmt::format("SEND {}", i)); !r)
        return std::unexpected(r.error());
    }
    if (std::string bad = CheckPayload(in, size, size, poll_mode, i); !bad.empty())
      return std::unexpected(ep_->Fail("data check of the echo failed: " + bad));
    if (i >= spec.warmup) samples.push_back(static_cast<double>(t1 - t0) / 2000.0);
    if (last) break;
  }
  auto verdict = WaitVerdict(spec.timeout);
  if (!verdict) return std::unexpected(verdict.error());
  return ComputeLatencyStats(size, samples);
}

Result<BandwidthStats> VerbsClientSession::RunBandwidth(const TestSpec& spec) {
  if (auto r = CheckTestSpec(spec, ep_->remote().slot_size); !r) return std::unexpected(r.error());
  const std::uint32_t size = spec.message_size;
  const std::uint32_t slots = ep_->slots();
  for (std::uint32_t s = 0; s < slots; ++s) FillPattern(ep_->SendSlot(s), size, size);
  if (auto r = WaitReady(spec); !r) return std::unexpected(r.error());

  // A slot's stamp is rewritten only after its previous write completed (completions
  // arrive in order on one queue pair), so at most `slots` writes are in flight.
  const std::uint64_t window = std::min(ep_->window(), slots);
  std::vector<ibv_wc> wc(16);
  std::uint64_t posted = 0, completed = 0;
  const std::int64_t start = NowNs();
  const std::int64_t end = start + ToNs(spec.duration);
  bool posting = true;
  while (true) {
    while (posting && posted - completed < window) {
      if (spec.iterations ? posted >= spec.iterations : NowNs() >= end) {
        posting = false;
        break;
      }
      std::uint8_t* buf = ep_->SendSlot(static_cast<std::uint32_t>(posted % slots));
      Stamp(buf, size, false, posted);
      if (auto r = ep_->PostSend(buf, size, IBV_WR_RDMA_WRITE, 0,
                                 ep_->RemoteSlot(static_cast<std::uint32_t>(posted % slots)), posted);
          !r)
        return std::unexpected(r.error());
      ++posted;
    }
    if (!posting && completed == posted) break;
    auto n = ep_->Poll(ep_->send_cq(), wc.data(), static_cast<int>(wc.size()), NowNs() + ToNs(spec.timeout),
                       fmt::format("RDMA WRITE {}", completed));
    if (!n) return std::unexpected(n.error());
    completed += static_cast<std::uint64_t>(*n);
  }
  const double seconds = static_cast<double>(NowNs() - start) / 1e9;
  if (auto r = oob_.Send(Tagged('D', posted)); !r) return std::unexpected(r.error());
  auto verdict = WaitVerdict(spec.timeout);
  if (!verdict) return std::unexpected(verdict.error());
  if (*verdict != posted)
    return MakeError(fmt::format("agent {} counted {} writes, the client sent {}", peer_, *verdict, posted));
  return ComputeBandwidthStats(size, posted, posted * size, seconds);
}

class VerbsClientTransport final : public ClientTransport {
 public:
  explicit VerbsClientTransport(VerbsOptions o) : options_(std::move(o)) {}
  std::string_view Name() const override { return "verbs"; }
  Result<std::unique_ptr<ClientSession>> Connect(const PeerAddress& peer, const SessionSpec& session,
                                                 OobChannel& oob) override;

 private:
  VerbsOptions options_;
};

Result<std::unique_ptr<ClientSession>> VerbsClientTransport::Connect(const PeerAddress& peer,
                                                                     const SessionSpec& session, OobChannel& oob) {
  if (session.max_message_size < 1 || session.max_message_size > kMaxMessageSize)
    return MakeError(fmt::format("maximum message size {} outside 1..{}", session.max_message_size, kMaxMessageSize));
  const std::uint32_t window = std::max<std::uint32_t>(1, options_.window);
  auto ep = Endpoint::Create(options_, session.max_message_size, SlotsFor(session.max_message_size, window), window);
  if (!ep) return std::unexpected(ep.error());
  if (auto r = oob.Send(SerializeQpInfo((*ep)->LocalInfo(options_.latency_method))); !r)
    return std::unexpected(r.error());
  auto reply = oob.Receive(session.timeout);
  if (!reply)
    return std::unexpected(Error{.message = fmt::format("agent {}: {}", peer.remote_text, reply.error().message)});
  if (!reply->empty() && (*reply)[0] == 'E')
    return MakeError(
        fmt::format("agent {} refused verbs: {}", peer.remote_text, std::string(reply->begin() + 1, reply->end())));
  auto remote = ParseQpInfo(*reply, "agent " + peer.remote_text);
  if (!remote) return std::unexpected(remote.error());
  if (remote->slot_size != session.max_message_size || remote->slots != (*ep)->slots())
    return MakeError(fmt::format("agent {} sized its buffer as {} x {} bytes, expected {} x {}", peer.remote_text,
                                 remote->slots, remote->slot_size, (*ep)->slots(), session.max_message_size));
  if (auto r = CheckPeerGid(remote->gid, static_cast<LinkLayer>(remote->link_layer), peer.remote, LocalAddressGids());
      !r)
    return std::unexpected(Error{.message = "agent " + peer.remote_text + ": " + r.error().message});
  if (auto r = (*ep)->ConnectTo(*remote); !r) return std::unexpected(r.error());
  return std::make_unique<VerbsClientSession>(std::move(*ep), oob, options_.latency_method, peer.remote_text);
}

// ---- agent ----

class VerbsServerSession final : public ServerSession {
 public:
  VerbsServerSession(std::unique_ptr<Endpoint> ep, OobChannel& oob, VerbsLatencyMethod method, std::string peer)
      : ep_(std::move(ep)), oob_(oob), method_(method), peer_(std::move(peer)) {}
  Result<void> Serve(const TestSpec& spec) override;

 private:
  Result<void> ServeLatency(const TestSpec& spec);
  Result<void> ServeBandwidth(const TestSpec& spec);
  std::unique_ptr<Endpoint> ep_;
  OobChannel& oob_;
  VerbsLatencyMethod method_;
  std::string peer_;
};

Result<void> VerbsServerSession::Serve(const TestSpec& spec) {
  if (auto r = CheckTestSpec(spec, ep_->remote().slot_size); !r) {
    (void)oob_.Send(ErrorMessage(r.error().message));
    return r;
  }
  return spec.kind == TestKind::kLatency ? ServeLatency(spec) : ServeBandwidth(spec);
}

Result<void> VerbsServerSession::ServeLatency(const TestSpec& spec) {
  const std::uint32_t size = spec.message_size;
  const bool poll_mode = method_ == VerbsLatencyMethod::kWritePoll;
  std::uint8_t* in = ep_->RecvSlot(0);
  std::memset(in, 0, size);
  if (!poll_mode)
    if (auto r = ep_->PostRecv(in, size); !r) return r;
  if (auto r = oob_.Send(Bytes{'R'}); !r) return r;

  std::string first_bad;
  std::uint64_t i = 0;
  for (;; ++i) {
    const std::int64_t deadline = NowNs() + ToNs(spec.timeout);
    bool last = false;
    if (poll_mode) {
      std::uint8_t seen = 0;
      if (auto r = ep_->WaitByte(in + size - 1, Marker(i), kLastMarker, &seen, deadline, fmt::format("write {}", i));
          !r)
        return r;
      last = seen == kLastMarker;
    } else {
      auto wc = ep_->PollOne(ep_->recv_cq(), deadline, fmt::format("message {}", i));
      if (!wc) return std::unexpected(wc.error());
      const std::uint32_t imm = ntohl(wc->imm_data);
      last = (imm & kLastFlag) != 0;
      if (first_bad.empty() &&
          (!(wc->wc_flags & IBV_WC_WITH_IMM) || (imm & ~kLastFlag) != (i & 0x7fffffff) || wc->byte_len != size))
        first_bad = fmt::format("message {} arrived with the wrong header ({} bytes)", i, wc->byte_len);
    }
    // Only the stamp here: the client checks every byte of the echo, off the clock.
    const int sb = StampBytes(size, poll_mode);
    if (first_bad.empty() && GetLe(in, sb) != (i & StampMask(sb)))
      first_bad = fmt::format("message {} carries sequence number {}", i, GetLe(in, sb));
    if (!poll_mode && !last)
      if (auto r = ep_->PostRecv(in, size); !r) return r;
    // Echo the received bytes themselves: nothing to copy, and the client sees what arrived.
    if (auto r =
            ep_->PostSend(in, size, poll_mode ? IBV_WR_RDMA_WRITE : IBV_WR_SEND_WITH_IMM,
                          static_cast<std::uint32_t>(i & 0x7fffffff) | (last ? kLastFlag : 0), ep_->RemoteSlot(0), i);
        !r)
      return r;
    if (auto r = ep_->PollOne(ep_->send_cq(), deadline, fmt::format("echo {}", i)); !r)
      return std::unexpected(r.error());
    if (last) break;
  }
  if (!first_bad.empty()) {
    (void)oob_.Send(ErrorMessage("data check failed: " + first_bad));
    return std::unexpected(ep_->Fail(fmt::format("client {}: data check failed: {}", peer_, first_bad)));
  }
  return oob_.Send(Tagged('K', i + 1));
}

Result<void> VerbsServerSession::ServeBandwidth(const TestSpec& spec) {
  const std::uint32_t size = spec.message_size;
  const std::uint32_t slots = ep_->slots();
  for (std::uint32_t s = 0; s < slots; ++s) std::memset(ep_->RecvSlot(s), 0, size);
  if (auto r = oob_.Send(Bytes{'R'}); !r) return r;
  // Plain writes give the agent no completions: progress is the slots' stamps changing.
  // The client's "done" must come within `timeout` of the last change.
  auto stamps = [&] {
    std::uint64_t h = 0;
    const volatile std::uint8_t* p = nullptr;
    for (std::uint32_t s = 0; s < slots; ++s) {
      p = ep_->RecvSlot(s);
      for (int j = 0; j < StampBytes(size, false); ++j) h = h * 131 + p[j];
    }
    return h;
  };
  std::uint64_t seen = stamps();
  std::int64_t idle_deadline = NowNs() + ToNs(spec.timeout);
  while (true) {
    auto pending = oob_.Pending(std::chrono::milliseconds(200));
    if (!pending) return std::unexpected(ep_->Fail(fmt::format("client {}: {}", peer_, pending.error().message)));
    if (*pending) break;
    if (const std::uint64_t now = stamps(); now != seen) {
      seen = now;
      idle_deadline = NowNs() + ToNs(spec.timeout);
    } else if (NowNs() > idle_deadline) {
      return std::unexpected(
          ep_->Fail(fmt::format("client {}: no data and no end of stream for {} ms", peer_, spec.timeout.count())));
    }
  }
  auto done = ReceiveOob(oob_, spec.timeout, "D", "client " + peer_);
  if (!done) return std::unexpected(done.error());
  if (done->tag == 'E') return std::unexpected(ep_->Fail(fmt::format("client {} gave up: {}", peer_, done->text)));
  const std::uint64_t count = done->count;
  if (spec.iterations && count != spec.iterations) {
    std::string why = fmt::format("client reports {} writes, the test asked for {}", count, spec.iterations);
    (void)oob_.Send(ErrorMessage(why));
    return std::unexpected(ep_->Fail(why));
  }
  // Each slot holds the last write that went to it: the largest i < count with i % slots == s.
  std::atomic_thread_fence(std::memory_order_acquire);
  for (std::uint32_t s = 0; s < slots && s < count; ++s) {
    const std::uint64_t i = s + (count - 1 - s) / slots * slots;
    if (std::string bad = CheckPayload(ep_->RecvSlot(s), size, size, false, i); !bad.empty()) {
      (void)oob_.Send(ErrorMessage("data check failed: " + bad));
      return std::unexpected(ep_->Fail(fmt::format("client {}: data check failed: {}", peer_, bad)));
    }
  }
  return oob_.Send(Tagged('K', count));
}

class VerbsServerTransport final : public ServerTransport {
 public:
  explicit VerbsServerTransport(VerbsOptions o) : options_(std::move(o)) {}
  std::string_view Name() const override { return "verbs"; }
  Result<std::unique_ptr<ServerSession>> Accept(const PeerAddress& peer, const SessionSpec& session,
                                                OobChannel& oob) override;

 private:
  VerbsOptions options_;
};

Result<std::unique_ptr<ServerSession>> VerbsServerTransport::Accept(const PeerAddress& peer, const SessionSpec& session,
                                                                    OobChannel& oob) {
  auto refuse = [&](const Error& e) -> std::unexpected<Error> {
    (void)oob.Send(ErrorMessage(e.where.empty() ? e.message : e.Format()));
    return std::unexpected(e);
  };
  auto msg = oob.Receive(session.timeout);
  if (!msg) return std::unexpected(msg.error());
  auto remote = ParseQpInfo(*msg, "client " + peer.remote_text);
  if (!remote) return refuse(remote.error());
  if (session.max_message_size < 1 || session.max_message_size > kMaxMessageSize ||
      remote->slot_size != session.max_message_size || remote->slots != SlotsFor(remote->slot_size, remote->window))
    return refuse(
        Error{.message = fmt::format("client {}: buffer of {} x {} bytes does not match the session ({} bytes, "
                                     "window {})",
                                     peer.remote_text, remote->slots, remote->slot_size, session.max_message_size,
                                     remote->window)});
  if (auto r = CheckPeerGid(remote->gid, static_cast<LinkLayer>(remote->link_layer), peer.remote, LocalAddressGids());
      !r)
    return refuse(Error{.message = "client " + peer.remote_text + ": " + r.error().message});
  auto ep = Endpoint::Create(options_, remote->slot_size, remote->slots, remote->window);
  if (!ep) return refuse(ep.error());
  if (auto r = (*ep)->ConnectTo(*remote); !r) return refuse(r.error());
  if (auto r = oob.Send(SerializeQpInfo((*ep)->LocalInfo(remote->latency_method))); !r)
    return std::unexpected(r.error());
  return std::make_unique<VerbsServerSession>(std::move(*ep), oob, remote->latency_method, peer.remote_text);
}

}  // namespace

Bytes SerializeQpInfo(const QpInfo& info) {
  Bytes b(kQpInfoBytes, 0);
  std::memcpy(b.data(), kQpInfoMagic, 4);
  b[4] = kQpInfoVersion;
  b[5] = info.mtu;
  b[6] = info.link_layer;
  b[7] = static_cast<std::uint8_t>(info.latency_method);
  PutLe(&b[8], info.qpn, 4);
  PutLe(&b[12], info.psn, 4);
  std::memcpy(&b[16], info.gid.data(), 16);
  PutLe(&b[32], info.lid, 2);
  PutLe(&b[36], info.rkey, 4);
  PutLe(&b[40], info.addr, 8);
  PutLe(&b[48], info.slot_size, 4);
  PutLe(&b[52], info.slots, 4);
  PutLe(&b[56], info.window, 4);
  return b;
}

Result<QpInfo> ParseQpInfo(std::span<const std::uint8_t> d, std::string_view what) {
  auto bad = [&](std::string why) { return MakeError(fmt::format("{}: bad queue-pair details: {}", what, why)); };
  if (d.size() != kQpInfoBytes) return bad(fmt::format("{} bytes, expected {}", d.size(), kQpInfoBytes));
  if (std::memcmp(d.data(), kQpInfoMagic, 4) != 0) return bad("wrong magic");
  if (d[4] != kQpInfoVersion) return bad(fmt::format("version {}, this fabricctl speaks {}", d[4], kQpInfoVersion));
  QpInfo q;
  q.mtu = d[5];
  q.link_layer = d[6];
  q.qpn = static_cast<std::uint32_t>(GetLe(&d[8], 4));
  q.psn = static_cast<std::uint32_t>(GetLe(&d[12], 4));
  std::memcpy(q.gid.data(), &d[16], 16);
  q.lid = static_cast<std::uint16_t>(GetLe(&d[32], 2));
  q.rkey = static_cast<std::uint32_t>(GetLe(&d[36], 4));
  q.addr = GetLe(&d[40], 8);
  q.slot_size = static_cast<std::uint32_t>(GetLe(&d[48], 4));
  q.slots = static_cast<std::uint32_t>(GetLe(&d[52], 4));
  q.window = static_cast<std::uint32_t>(GetLe(&d[56], 4));
  if (q.mtu < IBV_MTU_256 || q.mtu > IBV_MTU_4096) return bad(fmt::format("mtu code {}", q.mtu));
  if (q.link_layer > static_cast<std::uint8_t>(LinkLayer::kEthernet))
    return bad(fmt::format("link layer {}", q.link_layer));
  if (d[7] > static_cast<std::uint8_t>(VerbsLatencyMethod::kWritePoll))
    return bad(fmt::format("latency method {}", d[7]));
  q.latency_method = static_cast<VerbsLatencyMethod>(d[7]);
  if (q.qpn == 0 || q.qpn > 0xffffff) return bad(fmt::format("qpn {}", q.qpn));
  if (q.psn > 0xffffff) return bad(fmt::format("psn {}", q.psn));
  if (q.slot_size < 1 || q.slot_size > kMaxMessageSize) return bad(fmt::format("slot size {}", q.slot_size));
  if (q.slots < 1 || q.window < 1 || q.window > 4096 || q.slots > q.window)
    return bad(fmt::format("{} slots, window {}", q.slots, q.window));
  if (d[34] || d[35] || GetLe(&d[60], 4)) return bad("reserved bytes set");
  return q;
}

Result<void> CheckPeerGid(const Gid& gid, LinkLayer link_layer, const sockaddr_storage& remote,
                          std::span<const Gid> local_addresses) {
  if (link_layer != LinkLayer::kEthernet) return {};
  Gid remote_gid{};
  if (remote.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&remote);
    remote_gid[10] = remote_gid[11] = 0xff;
    std::memcpy(&remote_gid[12], &sin->sin_addr, 4);
  } else if (remote.ss_family == AF_INET6) {
    std::memcpy(remote_gid.data(), &reinterpret_cast<const sockaddr_in6*>(&remote)->sin6_addr, 16);
  } else {
    return MakeError("control connection is neither IPv4 nor IPv6");
  }
  if (gid == remote_gid) return {};
  for (const Gid& l : local_addresses)
    if (gid == l) return {};
  return MakeError(
      fmt::format("RoCE GID {} is neither the control connection's address nor one of this host's; "
                  "refusing to send traffic to a third host",
                  FormatGid(gid)));
}

std::vector<Gid> LocalAddressGids() {
  std::vector<Gid> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    Gid g{};
    if (a->ifa_addr->sa_family == AF_INET) {
      g[10] = g[11] = 0xff;
      std::memcpy(&g[12], &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      std::memcpy(g.data(), &reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(g);
  }
  ::freeifaddrs(list);
  return out;
}

Result<std::unique_ptr<ClientTransport>> MakeVerbsClientTransport(const VerbsOptions& options) {
  // Open once now so a missing device is reported before any agent is contacted.
  auto dev = VerbsDevice::Open({.device = options.device, .port = options.port, .gid_index = options.gid_index});
  if (!dev) return std::unexpected(dev.error());
  return std::make_unique<VerbsClientTransport>(options);
}

Result<std::unique_ptr<ServerTransport>> MakeVerbsServerTransport(const VerbsOptions& options) {
  auto dev = VerbsDevice::Open({.device = options.device, .port = options.port, .gid_index = options.gid_index});
  if (!dev) return std::unexpected(dev.error());
  return std::make_unique<VerbsServerTransport>(options);
}

}  // namespace fabricctl::probes
