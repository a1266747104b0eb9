#include "probes/tcp_transport.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "probes/control_protocol.h"
#include "probes/socket_util.h"

namespace fabricctl::probes {
namespace {

using std::chrono::milliseconds;

constexpr std::uint8_t kTagPort = 'P';    // agent -> client: u16 port, 16-byte cookie
constexpr std::uint8_t kTagEnd = 'E';     // client -> agent: u64 messages sent
constexpr std::uint8_t kTagReport = 'R';  // agent -> client: u64 messages, u64 bytes, u64 ns
constexpr size_t kCookieSize = 16;
// Connections to a data listener that may wait for their cookie at once, and its backlog:
// room for the client next to strangers on its host.
constexpr size_t kMaxDataCandidates = 16;
constexpr int kDataBacklog = 64;
constexpr size_t kRecvChunk = 256 << 10;
// Granularity at which an idle receiver looks at the control channel for "end".
constexpr milliseconds kIdleSlice{5};

std::uint64_t MonotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

void PutU64(Bytes& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t GetU64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// Writes the message sequence number into its first bytes (as many as fit).
void StampSequence(std::uint8_t* msg, std::uint32_t size, std::uint64_t seq) {
  std::uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<std::uint8_t>(seq >> (8 * i));
  std::memcpy(msg, le, std::min<std::uint32_t>(size, 8));
}

void FillPattern(Bytes& buf) {
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::uint8_t>(i * 131 + 7);
}

Result<void> SendSpin(int fd, const std::uint8_t* data, size_t n, Deadline deadline) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = ::send(fd, data + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      done += static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
      int left = static_cast<int>(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count());
      if (left <= 0) return MakeError("timed out sending to peer");
      ::poll(&p, 1, std::min(left, 100));
      continue;
    }
    return MakeError(fmt::format("send to peer: {}", std::strerror(errno)));
  }
  return {};
}

// Data sockets block (with SO_RCVTIMEO/SO_SNDTIMEO slices so every wait stays bounded):
// after a short spin, a blocking recv() is woken directly by the arriving segment, one
// system call instead of poll() + recv().
void SetBlockingWithTimeouts(int fd, milliseconds recv_slice, milliseconds send_slice) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  auto tv = [](milliseconds ms) {
    return timeval{.tv_sec = static_cast<time_t>(ms.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
  };
  timeval r = tv(recv_slice), w = tv(send_slice);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof r);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &w, sizeof w);
}

// Reads exactly n bytes: spins (non-blocking) for `spin`, then blocks in recv() a slice
// at a time. Fails at the deadline.
Result<void> RecvSpin(int fd, std::uint8_t* data, size_t n, Deadline deadline, std::chrono::microseconds spin) {
  size_t done = 0;
  auto spin_until = Clock::now() + spin;
  bool spinning = spin.count() > 0;
  unsigned spins = 0;
  while (done < n) {
    ssize_t k = ::recv(fd, data + done, n - done, spinning ? MSG_DONTWAIT : 0);
    if (k > 0) {
      done += static_cast<size_t>(k);
      continue;
    }
    if (k == 0) return MakeError("connection closed by peer");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return MakeError(fmt::format("recv from peer: {}", std::strerror(errno)));
    if (spinning) {
      if ((++spins & 15) != 0) continue;
      if (Clock::now() < spin_until) continue;
      spinning = false;
    }
    if (Clock::now() >= deadline) return MakeError("timed out waiting for peer");
  }
  return {};
}

// Incremental check of the sequence numbers at the start of each streamed message.
class StreamVerifier {
 public:
  explicit StreamVerifier(std::uint32_t size) : size_(size), header_(std::min<std::uint32_t>(size, 8)) {}
  // Returns false at the first message whose header does not match its position.
  bool Feed(const std::uint8_t* p, size_t n) {
    size_t i = 0;
    while (i < n) {
      if (pos_ < header_) {
        size_t take = std::min<size_t>(header_ - pos_, n - i);
        std::memcpy(got_ + pos_, p + i, take);
        pos_ += take;
        i += take;
        if (pos_ == header_) {
          std::uint8_t want[8];
          StampSequence(want, size_, messages_);
          if (std::memcmp(want, got_, header_) != 0) return false;
        }
      } else {
        size_t take = std::min<size_t>(size_ - pos_, n - i);
        pos_ += take;
        i += take;
      }
      if (pos_ == size_) {
        pos_ = 0;
        ++messages_;
      }
    }
    return true;
  }
  std::uint64_t messages() const { return messages_; }
  bool at_boundary() const { return pos_ == 0; }

 private:
  std::uint32_t size_;
  std::uint32_t header_;
  std::uint32_t pos_ = 0;
  std::uint8_t got_[8] = {};
  std::uint64_t messages_ = 0;
};

Result<std::uint64_t> ParseEnd(const Bytes& b) {
  if (b.size() != 9 || b[0] != kTagEnd) return MakeError("malformed end-of-test message from client");
  return GetU64(b.data() + 1);
}

class TcpClientSession final : public ClientSession {
 public:
  TcpClientSession(Fd fd, OobChannel& oob, std::uint32_t max_size, TcpOptions options)
      : fd_(std::move(fd)), oob_(oob), options_(options), send_(max_size), recv_(max_size) {
    FillPattern(send_);
    SetBlockingWithTimeouts(fd_.get(), milliseconds(100), milliseconds(100));
  }

  Result<LatencyStats> RunLatency(const TestSpec& spec) override {
    const std::uint32_t size = spec.message_size;
    if (size == 0 || size > send_.size())
      return MakeError(fmt::format("message size {} outside 1..{}", size, send_.size()));
    std::vector<double> samples;
    samples.reserve(std::min<std::uint64_t>(spec.iterations ? spec.iterations : 1'000'000, 10'000'000));
    const std::uint64_t end_ns =
        spec.iterations ? 0 : MonotonicNs() + static_cast<std::uint64_t>(spec.duration.count()) * 1'000'000ull;
    // A duration-bounded run warms up for at most a tenth of its time, so slow round
    // trips (large messages on a slow link) still leave most of it measured.
    const std::uint64_t warm_end_ns =
        spec.iterations ? 0 : MonotonicNs() + static_cast<std::uint64_t>(spec.duration.count()) * 100'000ull;
    std::uint64_t round = 0;
    bool measuring = spec.warmup == 0;
    for (;; ++round) {
      StampSequence(send_.data(), size, round);
      std::uint64_t t0 = MonotonicNs();
      if (!measuring) measuring = round >= spec.warmup || (spec.iterations == 0 && t0 >= warm_end_ns);
      if (measuring && (spec.iterations != 0 ? samples.size() >= spec.iterations : t0 >= end_ns)) break;
      Deadline deadline = Clock::now() + spec.timeout;
      if (auto r = SendSpin(fd_.get(), send_.data(), size, deadline); !r) return Fail(r.error(), round);
      if (auto r = RecvSpin(fd_.get(), recv_.data(), size, deadline, options_.busy_poll); !r)
        return Fail(r.error(), round);
      std::uint64_t t1 = MonotonicNs();
      if (std::memcmp(send_.data(), recv_.data(), size) != 0)
        return MakeError(fmt::format("latency test: echo of round trip {} differs from what was sent", round));
      if (measuring) samples.push_back(static_cast<double>(t1 - t0) / 2000.0);
    }
    if (auto r = SendEnd(round); !r) return std::unexpected(r.error());
    return ComputeLatencyStats(size, samples);
  }

  Result<BandwidthStats> RunBandwidth(const TestSpec& spec) override {
    const std::uint32_t size = spec.message_size;
    if (size == 0 || size > send_.size())
      return MakeError(fmt::format("message size {} outside 1..{}", size, send_.size()));
    const std::uint64_t end_ns =
        spec.iterations ? 0 : MonotonicNs() + static_cast<std::uint64_t>(spec.duration.count()) * 1'000'000ull;
    std::uint64_t sent = 0;
    for (;; ++sent) {
      if (spec.iterations != 0 ? sent >= spec.iterations : MonotonicNs() >= end_ns) break;
      StampSequence(send_.data(), size, sent);
      if (auto r = WriteAll(fd_.get(), std::span(send_.data(), size), Clock::now() + spec.timeout); !r)
        return Fail(r.error(), sent);
    }
    if (auto r = SendEnd(sent); !r) return std::unexpected(r.error());
    auto report = oob_.Receive(spec.timeout);
    if (!report)
      return std::unexpected(Error{.message = "bandwidth test: no report from agent: " + report.error().message});
    if (report->size() != 25 || (*report)[0] != kTagReport)
      return MakeError("bandwidth test: malformed report from agent");
    std::uint64_t messages = GetU64(report->data() + 1);
    std::uint64_t bytes = GetU64(report->data() + 9);
    std::uint64_t ns = GetU64(report->data() + 17);
    if (messages != sent || bytes != sent * size)
      return MakeError(
          fmt::format("bandwidth test: agent received {} messages ({} bytes), {} were sent", messages, bytes, sent));
    return ComputeBandwidthStats(size, messages, bytes, static_cast<double>(ns) / 1e9);
  }

 private:
  std::unexpected<Error> Fail(const Error& e, std::uint64_t at) {
    return MakeError(fmt::format("data connection failed after {} messages: {}", at, e.message));
  }
  Result<void> SendEnd(std::uint64_t count) {
    Bytes end{kTagEnd};
    PutU64(end, count);
    return oob_.Send(end);
  }

  Fd fd_;
  OobChannel& oob_;
  TcpOptions options_;
  Bytes send_;
  Bytes recv_;
};

class TcpServerSession final : public ServerSession {
 public:
  TcpServerSession(Fd fd, OobChannel& oob, std::uint32_t max_size, TcpOptions options)
      : fd_(std::move(fd)), oob_(oob), options_(options), buf_(std::max<size_t>(max_size, kRecvChunk)) {
    SetBlockingWithTimeouts(fd_.get(), kIdleSlice, milliseconds(100));
  }

  Result<void> Serve(const TestSpec& spec) override {
    if (spec.message_size == 0 || spec.message_size > buf_.size())
      return MakeError(fmt::format("message size {} outside 1..{}", spec.message_size, buf_.size()));
    Deadline test_end = TestEnd(spec);
    return spec.kind == TestKind::kLatency ? ServeLatency(spec, test_end) : ServeBandwidth(spec, test_end);
  }

 private:
  // A client could keep a test alive forever by sending a byte just before each timeout,
  // or by never sending its "end": a test ends at its duration plus twice the timeout
  // (one for the last round trip, one for the "end"), one bounded by iterations at the
  // longest duration allowed plus the same.
  static milliseconds Allowance(const TestSpec& spec) {
    milliseconds longest = spec.duration.count() > 0 ? spec.duration : milliseconds(kMaxDurationMs);
    return longest + 2 * spec.timeout;
  }
  static Deadline TestEnd(const TestSpec& spec) { return Clock::now() + Allowance(spec); }
  static std::unexpected<Error> Overrun(const TestSpec& spec) {
    return MakeError(
        fmt::format("test still running after {} ms (its duration and twice its timeout)", Allowance(spec).count()));
  }

  // True once the client's "end" has arrived and agrees with the round trips echoed.
  Result<bool> CheckEnd(std::uint64_t echoed) {
    auto pending = oob_.Pending(milliseconds(0));
    if (!pending) return std::unexpected(pending.error());
    if (!*pending) return false;
    auto msg = oob_.Receive(milliseconds(1000));
    if (!msg) return std::unexpected(msg.error());
    auto count = ParseEnd(*msg);
    if (!count) return std::unexpected(count.error());
    if (*count != echoed)
      return MakeError(fmt::format("client reports {} round trips, agent echoed {}", *count, echoed));
    return true;
  }

  static std::unexpected<Error> RoundFailed(std::uint64_t echoed, const Error& e) {
    return MakeError(fmt::format("latency test after {} round trips: {}", echoed, e.message));
  }

  Result<void> ServeLatency(const TestSpec& spec, Deadline test_end) {
    const std::uint32_t size = spec.message_size;
    std::uint64_t echoed = 0;
    for (;;) {
      if (Clock::now() >= test_end) return Overrun(spec);
      Deadline deadline = std::min(Clock::now() + spec.timeout, test_end);
      // Spin for the first byte so the echo is as prompt as the client's send, then
      // block a slice at a time, looking for the client's "end" between slices.
      ssize_t k = -1;
      auto spin_until = Clock::now() + options_.busy_poll;
      bool spinning = options_.busy_poll.count() > 0;
      unsigned spins = 0;
      for (;;) {
        k = ::recv(fd_.get(), buf_.data(), size, spinning ? MSG_DONTWAIT : 0);
        if (k >= 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
          return MakeError(fmt::format("recv from client: {}", std::strerror(errno)));
        if (spinning) {
          if ((++spins & 15) != 0 || Clock::now() < spin_until) continue;
          spinning = false;
          continue;
        }
        auto end = CheckEnd(echoed);
        if (!end) return std::unexpected(end.error());
        if (*end) return {};
        if (Clock::now() >= test_end) return Overrun(spec);
        if (Clock::now() >= deadline) return MakeError("timed out: no data from client");
      }
      if (k == 0) return MakeError(fmt::format("client closed the data connection after {} round trips", echoed));
      if (static_cast<size_t>(k) < size) {
        if (auto r = RecvSpin(fd_.get(), buf_.data() + k, size - static_cast<size_t>(k), deadline, options_.busy_poll);
            !r)
          return Clock::now() >= test_end ? Overrun(spec) : RoundFailed(echoed, r.error());
      }
      if (auto r = SendSpin(fd_.get(), buf_.data(), size, deadline); !r)
        return Clock::now() >= test_end ? Overrun(spec) : RoundFailed(echoed, r.error());
      ++echoed;
      // A busy ping-pong never idles, so look at the control channel now and then: a
      // closed or shut-down connection ends the test; "end" may already be there after
      // the last echo.
      if ((echoed & 1023) == 0) {
        auto end = CheckEnd(echoed);
        if (!end) return std::unexpected(end.error());
        if (*end) return {};
      }
    }
  }

  Result<void> ServeBandwidth(const TestSpec& spec, Deadline test_end) {
    const std::uint32_t size = spec.message_size;
    StreamVerifier verifier(size);
    std::uint64_t bytes = 0;
    std::uint64_t start_ns = MonotonicNs();
    std::uint64_t last_ns = start_ns;
    std::uint64_t last_check_ns = start_ns;
    std::optional<std::uint64_t> expected_bytes;
    std::uint64_t end_messages = 0;
    Deadline deadline = std::min(Clock::now() + spec.timeout, test_end);
    for (;;) {
      if (expected_bytes && bytes == *expected_bytes) break;
      // Blocking reads (a kIdleSlice at most) of iperf3-like size: one system call per
      // chunk and the window reopens steadily as the application drains the socket.
      ssize_t k = ::recv(fd_.get(), buf_.data(), std::min(buf_.size(), kRecvChunk), 0);
      if (k > 0) {
        bytes += static_cast<std::uint64_t>(k);
        last_ns = MonotonicNs();
        if (!verifier.Feed(buf_.data(), static_cast<size_t>(k)))
          return MakeError(
              fmt::format("bandwidth test: message {} arrived corrupted or out of order", verifier.messages()));
        if (expected_bytes && bytes > *expected_bytes)
          return MakeError(fmt::format("bandwidth test: received {} bytes, client sent {}", bytes, *expected_bytes));
        deadline = std::min(Clock::now() + spec.timeout, test_end);
        // While data flows the idle path below never runs: look at the control channel
        // every 50 ms anyway, for the client's end or a shut-down connection.
        if (expected_bytes || last_ns - last_check_ns < 50'000'000) continue;
        last_check_ns = last_ns;
      } else if (k == 0) {
        return MakeError(fmt::format("client closed the data connection after {} bytes", bytes));
      } else if (errno == EINTR) {
        continue;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return MakeError(fmt::format("recv from client: {}", std::strerror(errno)));
      }
      if (Clock::now() >= test_end) return Overrun(spec);
      if (Clock::now() >= deadline)
        return MakeError(expected_bytes ? fmt::format("timed out: received {} of {} bytes", bytes, *expected_bytes)
                                        : fmt::format("timed out: no data from client after {} bytes", bytes));
      if (expected_bytes) continue;
      auto pending = oob_.Pending(milliseconds(0));
      if (!pending) return std::unexpected(pending.error());
      if (!*pending) continue;
      auto msg = oob_.Receive(milliseconds(1000));
      if (!msg) return std::unexpected(msg.error());
      auto count = ParseEnd(*msg);
      if (!count) return std::unexpected(count.error());
      end_messages = *count;
      if (end_messages > kMaxIterations * 16) return MakeError("bandwidth test: implausible message count");
      expected_bytes = end_messages * size;
    }
    if (!verifier.at_boundary() || verifier.messages() != end_messages)
      return MakeError(
          fmt::format("bandwidth test: received {} whole messages, client sent {}", verifier.messages(), end_messages));
    Bytes report{kTagReport};
    PutU64(report, verifier.messages());
    PutU64(report, bytes);
    PutU64(report, last_ns - start_ns);
    return oob_.Send(report);
  }

  Fd fd_;
  OobChannel& oob_;
  TcpOptions options_;
  Bytes buf_;
};

// A connection to the data listener that has not shown the cookie yet.
struct DataCandidate {
  Fd fd;
  std::array<std::uint8_t, kCookieSize> got{};
  std::size_t have = 0;
};

// Reads what a candidate has sent. True once it showed the whole cookie; false while it
// may still; an error when it must be dropped (closed, or a wrong cookie).
Result<bool> ReadCookie(DataCandidate& c, const Nonce& cookie) {
  ssize_t k = ::recv(c.fd.get(), c.got.data() + c.have, kCookieSize - c.have, MSG_DONTWAIT);
  if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  if (k <= 0) return MakeError("closed before sending the cookie");
  c.have += static_cast<std::size_t>(k);
  if (c.have < kCookieSize) return false;
  if (CRYPTO_memcmp(c.got.data(), cookie.data(), kCookieSize) != 0) return MakeError("wrong cookie");
  return true;
}

// Takes every connection waiting on the listener. Only the host holding the authenticated
// control connection may become the data peer; others are dropped at once. When more
// than kMaxDataCandidates wait for their cookie, the oldest is dropped.
void AcceptCandidates(int listener, const sockaddr_storage& host, std::vector<DataCandidate>& candidates) {
  for (;;) {
    SocketAddress from;
    from.len = sizeof from.addr;
    int c = ::accept4(listener, reinterpret_cast<sockaddr*>(&from.addr), &from.len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
    if (c < 0) return;
    Fd fd(c);
    if (!SameHost(from.addr, host)) continue;
    if (candidates.size() >= kMaxDataCandidates) candidates.erase(candidates.begin());
    candidates.push_back(DataCandidate{.fd = std::move(fd)});
  }
}

// Waits for the client's data connection: the one that sends the cookie given over the
// authenticated channel. Connections are watched side by side, so a stranger on the
// client's host that connects first and stays silent cannot hold up the client.
Result<Fd> AcceptDataPeer(int listener, const sockaddr_storage& host, const Nonce& cookie, Deadline deadline) {
  std::vector<DataCandidate> candidates;
  std::vector<pollfd> fds;
  for (;;) {
    fds.assign(1, pollfd{.fd = listener, .events = POLLIN, .revents = 0});
    for (const DataCandidate& c : candidates) fds.push_back(pollfd{.fd = c.fd.get(), .events = POLLIN, .revents = 0});
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return MakeError("timed out waiting for a connection");
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<std::int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) return MakeError(fmt::format("poll: {}", std::strerror(errno)));
    if (n <= 0) continue;
    for (std::size_t i = candidates.size(); i-- > 0;) {
      if (fds[i + 1].revents == 0) continue;
      auto shown = ReadCookie(candidates[i], cookie);
      if (shown && *shown) return std::move(candidates[i].fd);
      if (!shown) candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (fds[0].revents != 0) AcceptCandidates(listener, host, candidates);
  }
}

class TcpClientTransport final : public ClientTransport {
 public:
  explicit TcpClientTransport(TcpOptions options) : options_(options) {}
  std::string_view Name() const override { return "tcp"; }
  Result<std::unique_ptr<ClientSession>> Connect(const PeerAddress& peer, const SessionSpec& session,
                                                 OobChannel& oob) override {
    auto msg = oob.Receive(session.timeout);
    if (!msg) return std::unexpected(msg.error());
    if (msg->size() != 3 + kCookieSize || (*msg)[0] != kTagPort)
      return MakeError("malformed data-port message from agent");
    std::uint16_t port = static_cast<std::uint16_t>(((*msg)[1] << 8) | (*msg)[2]);
    SocketAddress addr{.addr = peer.remote, .len = peer.remote_len};
    SetAddressPort(addr.addr, port);
    LocalBinding binding{.device = options_.device};
    if (options_.bind_source) {
      binding.source = SocketAddress{.addr = peer.local, .len = peer.local_len};
      SetAddressPort(binding.source.addr, 0);
    }
    auto fd = ConnectTcp(addr, DeadlineAfter(session.timeout), binding);
    if (!fd) return std::unexpected(Error{.message = "data connection: " + fd.error().message});
    if (auto r = WriteAll(fd->get(), std::span(msg->data() + 3, kCookieSize), DeadlineAfter(session.timeout)); !r)
      return std::unexpected(r.error());
    return std::make_unique<TcpClientSession>(std::move(*fd), oob, session.max_message_size, options_);
  }

 private:
  TcpOptions options_;
};

class TcpServerTransport final : public ServerTransport {
 public:
  explicit TcpServerTransport(TcpOptions options) : options_(options) {}
  std::string_view Name() const override { return "tcp"; }
  Result<std::unique_ptr<ServerSession>> Accept(const PeerAddress& peer, const SessionSpec& session,
                                                OobChannel& oob) override {
    SocketAddress local{.addr = peer.local, .len = peer.local_len};
    SetAddressPort(local.addr, 0);
    auto listener = ListenTcp(local, kDataBacklog);
    if (!listener) return std::unexpected(listener.error());
    auto bound = LocalAddress(listener->get());
    if (!bound) return std::unexpected(bound.error());
    Nonce cookie = RandomNonce();
    Bytes msg{kTagPort};
    std::uint16_t port = AddressPort(bound->addr);
    msg.push_back(static_cast<std::uint8_t>(port >> 8));
    msg.push_back(static_cast<std::uint8_t>(port & 0xff));
    msg.insert(msg.end(), cookie.begin(), cookie.end());
    if (auto r = oob.Send(msg); !r) return std::unexpected(r.error());
    auto fd = AcceptDataPeer(listener->get(), peer.remote, cookie, DeadlineAfter(session.timeout));
    if (!fd) return std::unexpected(Error{.message = "data connection from client: " + fd.error().message});
    return std::make_unique<TcpServerSession>(std::move(*fd), oob, session.max_message_size, options_);
  }

 private:
  TcpOptions options_;
};

}  // namespace

std::unique_ptr<ClientTransport> MakeTcpClientTransport(TcpOptions options) {
  return std::make_unique<TcpClientTransport>(options);
}
std::unique_ptr<ServerTransport> MakeTcpServerTransport(TcpOptions options) {
  return std::make_unique<TcpServerTransport>(options);
}

}  // namespace fabricctl::probes
