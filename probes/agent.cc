#include "probes/agent.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "probes/control_protocol.h"
#include "probes/order_item.h"
#include "probes/tcp_transport.h"

namespace fabricctl::probes {
namespace {

constexpr std::uint64_t kWakeTag = 1;
// Listener i has tag kListenerTag + i; connections count up from 2.
constexpr std::uint64_t kListenerTag = std::uint64_t{1} << 62;
constexpr int kAcceptBatch = 64;  // per wake-up, so reads of held connections are not starved
constexpr auto kTick = std::chrono::milliseconds(200);
// Descriptors kept free of unauthenticated connections: sessions' data connections,
// transports' devices, the process's own files.
constexpr int kReservedDescriptors = 64;
constexpr int kDescriptorsPerSession = 4;

int DescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
}

void Watch(int epoll, int fd, std::uint64_t tag, std::uint32_t events) {
  epoll_event ev{.events = events, .data = {.u64 = tag}};
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
}

// Best effort, never waits: for the few bytes of a challenge or a refusal on a connection
// nothing has been written to yet, the socket buffer always has room.
bool SendNow(int fd, std::span<const std::uint8_t> data) {
  ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == static_cast<ssize_t>(data.size());
}

}  // namespace

Agent::Agent(AgentOptions options, std::vector<std::unique_ptr<ServerTransport>> transports, LogSink log)
    : options_(std::move(options)),
      transports_(std::move(transports)),
      log_(std::move(log)),
      unauthenticated_log_(log_, options_.log_lines_per_second),
      refusal_log_(log_, options_.log_lines_per_second) {}

Agent::~Agent() { Reap(/*wait_all=*/true); }

Result<void> Agent::Listen() {
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epoll.valid() || !wake.valid())
    return MakeError(fmt::format("cannot set up the event loop: {}", std::strerror(errno)));
  Watch(epoll.get(), wake.get(), kWakeTag, EPOLLIN);
  std::vector<SocketAddress> addresses = {options_.listen};
  addresses.insert(addresses.end(), options_.also_listen.begin(), options_.also_listen.end());
  std::vector<Fd> listeners;
  std::vector<SocketAddress> bound;
  for (const SocketAddress& address : addresses) {
    auto fd = ListenTcp(address, 1024);
    if (!fd) return std::unexpected(fd.error());
    auto local = LocalAddress(fd->get());
    if (!local) return std::unexpected(local.error());
    Watch(epoll.get(), fd->get(), kListenerTag + listeners.size(), EPOLLIN);
    listeners.push_back(std::move(*fd));
    bound.push_back(*local);
  }
  listeners_ = std::move(listeners);
  epoll_ = std::move(epoll);
  wake_ = std::move(wake);
  bound_ = std::move(bound);
  int spare = DescriptorLimit() - kReservedDescriptors - kDescriptorsPerSession * options_.max_sessions;
  unauthenticated_capacity_ = std::clamp(spare, 16, std::max(16, options_.max_unauthenticated));
  return {};
}

// Out of descriptors, say: accepting pauses so the loop cannot spin on a listener that
// stays readable.
void Agent::PauseListeners(bool paused) {
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    epoll_event ev{.events = paused ? 0u : EPOLLIN, .data = {.u64 = kListenerTag + i}};
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listeners_[i].get(), &ev);
  }
  listener_paused_until_ = paused ? Clock::now() + std::chrono::milliseconds(100) : Deadline{};
}

ServerTransport* Agent::FindTransport(std::string_view name) const {
  for (const auto& t : transports_)
    if (t->Name() == name) return t.get();
  return nullptr;
}

void Agent::LogUnauthenticated(std::string_view line) {
  unauthenticated_log_.Log(line, Clock::now());
  counters_.log_lines_suppressed = unauthenticated_log_.suppressed_total();
}

Result<void> Agent::Run(const std::atomic<bool>& stop) {
  if (listeners_.empty()) return MakeError("agent is not listening");
  std::string names, addresses;
  for (const auto& t : transports_) names += (names.empty() ? "" : ",") + std::string(t->Name());
  for (const auto& b : bound_) addresses += (addresses.empty() ? "" : ", ") + AddressText(b.addr, b.len);
  std::string orders = options_.peers ? fmt::format("orders to {} peers", options_.peers->size())
                                      : std::string("no orders (no --peers)");
  log_(fmt::format("listening on {} (transports: {}; {}; at most {} sessions, {} unauthenticated connections)",
                   addresses, names, orders, options_.max_sessions, unauthenticated_capacity_));
  epoll_event events[256];
  while (!stop.load()) {
    int n = ::epoll_wait(epoll_.get(), events, std::size(events), NextWaitMs());
    if (n < 0 && errno != EINTR) return MakeError(fmt::format("epoll_wait: {}", std::strerror(errno)));
    Reap(/*wait_all=*/false);
    for (int i = 0; i < n; ++i) {
      std::uint64_t tag = events[i].data.u64;
      if (tag >= kListenerTag) {
        AcceptNew(listeners_[tag - kListenerTag].get());
      } else if (tag == kWakeTag) {
        std::uint64_t count = 0;
        [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
      } else {
        OnReadable(tag);
      }
    }
    ExpireOverdue();
    if (listener_paused_until_ != Deadline{} && Clock::now() >= listener_paused_until_) PauseListeners(false);
    unauthenticated_log_.Flush(Clock::now());
  }
  Shutdown();
  return {};
}

int Agent::NextWaitMs() const {
  Deadline next = Clock::now() + kTick;
  if (!pending_.empty()) next = std::min(next, pending_.begin()->second.deadline);
  if (listener_paused_until_ != Deadline{}) next = std::min(next, listener_paused_until_);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
  return static_cast<int>(std::max<std::int64_t>(left + 1, 0));
}

void Agent::AcceptNew(int listener) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    SocketAddress peer;
    peer.len = sizeof peer.addr;
    int c = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer.addr), &peer.len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      LogUnauthenticated(fmt::format("accept failed: {}; pausing new connections for 100 ms", std::strerror(errno)));
      return PauseListeners(true);
    }
    SetNoDelay(c);
    Admit(Fd(c), peer);
  }
}

std::string Agent::OverSourceLimit(const std::string& source) const {
  auto it = sources_.find(source);
  if (it == sources_.end()) return {};
  const SourceCount& count = it->second;
  if (count.unauthenticated >= options_.max_unauthenticated_per_source)
    return fmt::format("{} unauthenticated connections from this address already", count.unauthenticated);
  if (count.unauthenticated + count.sessions >= options_.max_connections_per_source)
    return fmt::format("{} connections from this address already", count.unauthenticated + count.sessions);
  return {};
}

void Agent::Admit(Fd fd, const SocketAddress& peer) {
  std::string who = AddressText(peer.addr, peer.len);
  std::string source = SourceBlock(peer.addr);
  if (std::string refusal = OverSourceLimit(source); !refusal.empty()) {
    ++counters_.connections_refused;
    return LogUnauthenticated(fmt::format("{}: refused: {}", who, refusal));
  }
  if (static_cast<int>(pending_.size()) >= unauthenticated_capacity_) MakeRoom();
  AgentHandshake handshake(options_.token, RandomNonce());
  if (!SendNow(fd.get(), handshake.challenge())) {
    ++counters_.handshakes_failed;
    return LogUnauthenticated(fmt::format("{}: closed before authenticating: cannot send the challenge", who));
  }
  std::uint64_t id = next_id_++;
  Watch(epoll_.get(), fd.get(), id, EPOLLIN | EPOLLRDHUP);
  ++sources_[source].unauthenticated;
  ++counters_.unauthenticated_open;
  pending_.emplace(id, Pending{.fd = std::move(fd),
                               .who = std::move(who),
                               .source = std::move(source),
                               .deadline = DeadlineAfter(options_.handshake_timeout),
                               .handshake = std::move(handshake)});
}

// All unauthenticated places are taken: the address holding the most gives up its oldest
// connection. A legitimate client holds one place for one round trip, so it loses it only
// if the whole pool turns over within that round trip.
void Agent::MakeRoom() {
  auto busiest = std::max_element(sources_.begin(), sources_.end(), [](const auto& a, const auto& b) {
    return a.second.unauthenticated < b.second.unauthenticated;
  });
  if (busiest == sources_.end()) return;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->second.source != busiest->first) continue;
    Close(it, fmt::format("dropped to make room: {} unauthenticated connections held", pending_.size()),
          counters_.connections_dropped);
    return;
  }
}

void Agent::OnReadable(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // closed earlier in this batch
  Pending& p = it->second;
  std::uint8_t buf[kFrameHeaderSize + kMaxHelloBodySize + kMacSize];
  ssize_t n = ::recv(p.fd.get(), buf, std::min(sizeof buf, p.handshake.wanted()), 0);
  if (n == 0) return Close(it, "connection closed by peer", counters_.handshakes_failed);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return Close(it, fmt::format("recv: {}", std::strerror(errno)), counters_.handshakes_failed);
  }
  auto hello = p.handshake.Feed(std::span(buf, static_cast<std::size_t>(n)));
  if (!hello) return Close(it, hello.error().message, counters_.handshakes_failed);
  if (*hello) Promote(it, **hello);
}

void Agent::ReleaseSource(const std::string& source, int SourceCount::*field) {
  auto it = sources_.find(source);
  if (it == sources_.end()) return;
  --(it->second.*field);
  if (it->second.unauthenticated == 0 && it->second.sessions == 0) sources_.erase(it);
}

void Agent::Close(std::map<std::uint64_t, Pending>::iterator it, std::string_view reason,
                  std::atomic<std::uint64_t>& counter) {
  ++counter;
  --counters_.unauthenticated_open;
  LogUnauthenticated(fmt::format("{}: closed before authenticating: {}", it->second.who, reason));
  ReleaseSource(it->second.source, &SourceCount::unauthenticated);
  pending_.erase(it);  // closing the descriptor also removes it from the epoll set
}

void Agent::ExpireOverdue() {
  Deadline now = Clock::now();
  while (!pending_.empty() && pending_.begin()->second.deadline <= now)
    Close(pending_.begin(), fmt::format("no authenticated hello within {} ms", options_.handshake_timeout.count()),
          counters_.handshakes_failed);
}

// The client has authenticated: it gets a session slot and a thread, or a refusal it can
// verify.
void Agent::Promote(std::map<std::uint64_t, Pending>::iterator it, const Hello& hello) {
  Pending p = std::move(it->second);
  pending_.erase(it);
  --counters_.unauthenticated_open;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.fd.get(), nullptr);
  ReleaseSource(p.source, &SourceCount::unauthenticated);
  int running = active_sessions_.load();
  if (running >= options_.max_sessions) {
    ++counters_.sessions_refused;
    std::string why = fmt::format("busy: {} sessions running (--max-sessions); try again later", running);
    (void)SendNow(p.fd.get(), p.handshake.codec().Seal(ErrorMessage{why}));
    LogUnauthenticated(fmt::format("{}: refused: {}", p.who, why));
    return;
  }
  ++sources_[p.source].sessions;
  ++active_sessions_;
  auto s = std::make_unique<Session>();
  s->source = p.source;
  Session* raw = s.get();
  s->thread = std::thread([this, raw, fd = std::move(p.fd), codec = std::move(p.handshake.codec()), hello,
                           who = std::move(p.who)]() mutable {
    std::string last_line;
    {
      ControlChannel ch(std::move(fd), std::move(codec));
      last_line = ServeSession(ch, hello, who);
    }
    // The slot is free before the line saying so appears.
    --active_sessions_;
    log_(last_line);
    raw->done = true;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(wake_.get(), &one, sizeof one);
  });
  sessions_.push_back(std::move(s));
}

void Agent::Reap(bool wait_all) {
  for (auto& s : sessions_) {
    if ((wait_all || s->done) && s->thread.joinable()) {
      s->thread.join();
      ReleaseSource(s->source, &SourceCount::sessions);
    }
  }
  std::erase_if(sessions_, [](const auto& s) { return !s->thread.joinable(); });
}

void Agent::Shutdown() {
  while (!pending_.empty()) {
    --counters_.unauthenticated_open;
    ReleaseSource(pending_.begin()->second.source, &SourceCount::unauthenticated);
    pending_.erase(pending_.begin());
  }
  {
    // Sessions notice a shut-down control connection within one wait slice and end.
    std::lock_guard lock(fds_mu_);
    for (int fd : control_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  Reap(/*wait_all=*/true);
}

std::string Agent::ServeSession(ControlChannel& ch, const Hello& hello, const std::string& who) {
  // Registered so that stopping the agent can shut the connection down under a running
  // test; unregistered (by the guard, before `ch` closes the fd) on every way out.
  {
    std::lock_guard lock(fds_mu_);
    control_fds_.push_back(ch.fd());
  }
  struct Unregister {
    Agent* agent;
    int fd;
    ~Unregister() {
      std::lock_guard lock(agent->fds_mu_);
      std::erase(agent->control_fds_, fd);
    }
  } unregister{this, ch.fd()};
  auto fail = [&](std::string_view why) {
    ++counters_.sessions_failed;
    return fmt::format("{}: closed: {}", who, why);
  };
  auto local = LocalAddress(ch.fd());
  auto remote = RemoteAddress(ch.fd());
  if (!local || !remote) return fail("cannot read socket addresses");
  ch.send_timeout = std::chrono::milliseconds(hello.timeout_ms);
  if (hello.transport == kOrderSessionName) {
    if (auto r = ch.SendMessage(HelloAck{}, DeadlineAfter(ch.send_timeout)); !r) return fail(r.error().message);
    log_(fmt::format("{}: order session", who));
    return ServeOrders(ch, hello, who);
  }
  SessionSpec spec{.max_message_size = hello.max_message_size, .timeout = std::chrono::milliseconds(hello.timeout_ms)};
  ServerTransport* transport = FindTransport(hello.transport);
  if (!transport) {
    std::string why = fmt::format("transport '{}' is not available on this agent", hello.transport);
    (void)ch.SendMessage(ErrorMessage{why}, DeadlineAfter(spec.timeout));
    return fail(why);
  }
  if (auto r = ch.SendMessage(HelloAck{}, DeadlineAfter(spec.timeout)); !r) return fail(r.error().message);

  PeerAddress peer{.local = local->addr,
                   .local_len = local->len,
                   .remote = remote->addr,
                   .remote_len = remote->len,
                   .remote_text = who};
  auto session = transport->Accept(peer, spec, ch);
  if (!session) {
    (void)ch.SendMessage(ErrorMessage{session.error().message}, DeadlineAfter(spec.timeout));
    return fail(fmt::format("{} setup: {}", hello.transport, session.error().message));
  }
  log_(fmt::format("{}: {} session (messages up to {} B)", who, hello.transport, hello.max_message_size));
  return RunTests(ch, **session, hello, who);
}

std::string Agent::RunTests(ControlChannel& ch, ServerSession& session, const Hello& hello, const std::string& who) {
  auto fail = [&](std::string_view why) {
    ++counters_.sessions_failed;
    return fmt::format("{}: closed: {}", who, why);
  };
  int tests = 0;
  for (;;) {
    auto m = ch.ReceiveMessage(DeadlineAfter(options_.idle_timeout));
    if (!m) return fail(m.error().message);
    if (std::holds_alternative<Bye>(*m)) {
      ++counters_.sessions_ok;
      return fmt::format("{}: session done after {} tests", who, tests);
    }
    auto* req = std::get_if<TestRequest>(&*m);
    if (!req) return fail(fmt::format("expected test or bye, got {}", MessageName(*m)));
    if (req->message_size > hello.max_message_size)
      return fail(
          fmt::format("test message size {} exceeds the session's {}", req->message_size, hello.max_message_size));
    TestSpec test = ToTestSpec(*req);
    auto r = session.Serve(test);
    (void)ch.SendMessage(TestDone{.ok = r.has_value(), .error = r ? "" : r.error().message},
                         DeadlineAfter(std::chrono::milliseconds(hello.timeout_ms)));
    if (!r)
      return fail(fmt::format("{} {} {} B: {}", hello.transport, TestKindName(test.kind), test.message_size,
                              r.error().message));
    ++tests;
    ++counters_.tests_ok;
  }
}

Result<std::unique_ptr<ClientTransport>> MakeDefaultOrderTransport(std::string_view transport, const OrderItem& item) {
  if (transport != "tcp")
    return MakeError(fmt::format("transport '{}' is not available for orders on this agent", transport));
  return MakeTcpClientTransport({.bind_source = !item.source.empty(), .device = item.device});
}

void Agent::LogRefusal(std::string_view line) {
  std::lock_guard lock(refusal_mu_);
  refusal_log_.Log(line, Clock::now());
}

std::string Agent::ServeOrders(ControlChannel& ch, const Hello& hello, const std::string& who) {
  auto fail = [&](std::string_view why) {
    ++counters_.sessions_failed;
    return fmt::format("{}: closed: {}", who, why);
  };
  const auto timeout = std::chrono::milliseconds(hello.timeout_ms);
  int orders = 0;
  for (;;) {
    auto m = ch.ReceiveMessage(DeadlineAfter(options_.idle_timeout));
    if (!m) return fail(m.error().message);
    if (std::holds_alternative<Bye>(*m)) {
      ++counters_.sessions_ok;
      return fmt::format("{}: order session done after {} orders", who, orders);
    }
    auto* order = std::get_if<OrderRequest>(&*m);
    if (!order) return fail(fmt::format("expected order or bye, got {}", MessageName(*m)));
    if (std::string why = OrderRefusal(*order); !why.empty()) {
      ++counters_.orders_refused;
      LogRefusal(fmt::format("{}: order refused: {}", who, why));
      (void)ch.SendMessage(ErrorMessage{"order refused: " + why}, DeadlineAfter(timeout));
      return fail("order refused");
    }
    auto reply = RunOrder(ch, *order, who);
    if (!reply) return fail(reply.error().message);
    ++orders;
    ++counters_.orders_ok;
    if (auto r = ch.SendMessage(*reply, DeadlineAfter(timeout)); !r) return fail(r.error().message);
  }
}

std::string Agent::OrderRefusal(const OrderRequest& order) const {
  if (!options_.peers) return "this agent takes no orders (it was started without --peers)";
  for (const OrderItem& item : order.items)
    if (!options_.peers->Contains(item.target))
      return fmt::format("target {} is not a DATA_ADDR of this agent's --peers file", item.target);
  return {};
}

// The coordinator sends nothing while an order runs, so anything it sends (a second
// order, a bye, or a closed connection) ends the session once the running items are done
// (each is bounded by the order's timeout).
Result<OrderReply> Agent::RunOrder(ControlChannel& ch, const OrderRequest& order, const std::string& who) {
  std::vector<OrderResult> results(order.items.size());
  std::atomic<std::size_t> running{order.items.size()};
  std::vector<std::thread> threads;
  threads.reserve(order.items.size());
  for (std::size_t i = 0; i < order.items.size(); ++i)
    threads.emplace_back([&, i] {
      results[i] = RunOrderItem(order.items[i], order.settings);
      --running;
    });
  std::string interrupted;
  while (running.load() > 0 && interrupted.empty()) {
    auto readable = WaitReadable(ch.fd(), DeadlineAfter(std::chrono::milliseconds(20)));
    if (!readable) {
      interrupted = readable.error().message;
    } else if (*readable) {
      auto m = ch.ReceiveMessage(DeadlineAfter(order.settings.timeout));
      interrupted =
          m ? fmt::format("protocol error: {} while an order was running", MessageName(*m)) : m.error().message;
    }
  }
  for (std::thread& t : threads) t.join();
  if (!interrupted.empty()) return MakeError(interrupted);
  std::size_t ok = std::count_if(results.begin(), results.end(), [](const OrderResult& r) { return r.ok; });
  log_(fmt::format("{}: order of {} probes over {}: {} ok", who, results.size(), order.settings.transport, ok));
  return OrderReply{.results = std::move(results)};
}

// The item on the transport the agent's factory makes for it (probes/order_item.h).
OrderResult Agent::RunOrderItem(const OrderItem& item, const OrderSettings& settings) {
  auto transport = options_.order_transport(settings.transport, item);
  auto result = transport ? probes::RunOrderItem(item, settings, options_.token, **transport)
                          : Result<OrderResult>(std::unexpected(transport.error()));
  if (!result) {
    ++counters_.order_items_failed;
    return OrderResult{.ok = false, .error = result.error().Format()};
  }
  ++counters_.order_items_ok;
  return *result;
}

}  // namespace fabricctl::probes
