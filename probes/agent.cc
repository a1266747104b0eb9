#include "probes/agent.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>

#include "probes/control_protocol.h"

namespace fabricctl::probes {

Agent::Agent(AgentOptions options, std::vector<std::unique_ptr<ServerTransport>> transports, LogSink log)
    : options_(std::move(options)), transports_(std::move(transports)), log_(std::move(log)) {}

Agent::~Agent() { Reap(/*wait_all=*/true); }

Result<void> Agent::Listen() {
  auto fd = ListenTcp(options_.listen, 16);
  if (!fd) return std::unexpected(fd.error());
  auto bound = LocalAddress(fd->get());
  if (!bound) return std::unexpected(bound.error());
  listener_ = std::move(*fd);
  bound_ = *bound;
  return {};
}

ServerTransport* Agent::FindTransport(std::string_view name) const {
  for (const auto& t : transports_)
    if (t->Name() == name) return t.get();
  return nullptr;
}

void Agent::Reap(bool wait_all) {
  std::lock_guard lock(mu_);
  for (auto& s : sessions_)
    if ((wait_all || s->done) && s->thread.joinable()) s->thread.join();
  std::erase_if(sessions_, [](const auto& s) { return !s->thread.joinable(); });
}

Result<void> Agent::Run(const std::atomic<bool>& stop) {
  if (!listener_.valid()) return MakeError("agent is not listening");
  log_(fmt::format(
      "listening on {} (transports: {}; at most {} sessions)", AddressText(bound_.addr, bound_.len),
      [&] {
        std::string names;
        for (const auto& t : transports_) names += (names.empty() ? "" : ",") + std::string(t->Name());
        return names;
      }(),
      options_.max_sessions));
  while (!stop.load()) {
    Reap(/*wait_all=*/false);
    SocketAddress peer;
    auto fd = AcceptTcp(listener_.get(), DeadlineAfter(std::chrono::milliseconds(200)), peer);
    if (!fd) {
      // A timeout just re-checks `stop`; anything else (out of descriptors, say) is logged
      // and paced so the loop cannot spin.
      if (fd.error().message != "timed out waiting for a connection") {
        log_(fmt::format("accept failed: {}", fd.error().message));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    std::string who = AddressText(peer.addr, peer.len);
    std::lock_guard lock(mu_);
    if (static_cast<int>(sessions_.size()) >= options_.max_sessions) {
      ++counters_.sessions_refused;
      log_(fmt::format("{}: refused: {} sessions already running (--max-sessions)", who, sessions_.size()));
      continue;  // closes the connection
    }
    auto s = std::make_unique<Session>();
    Session* raw = s.get();
    s->thread = std::thread([this, raw, f = std::move(*fd), who]() mutable {
      ServeConnection(std::move(f), who);
      raw->done = true;
    });
    sessions_.push_back(std::move(s));
  }
  {
    // Sessions notice a shut-down control connection within one wait slice and end.
    std::lock_guard lock(fds_mu_);
    for (int fd : control_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  Reap(/*wait_all=*/true);
  return {};
}

void Agent::ServeConnection(Fd fd, std::string who) {
  auto local = LocalAddress(fd.get());
  auto remote = RemoteAddress(fd.get());
  ControlChannel ch(std::move(fd), Role::kAgent, options_.token);
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
    log_(fmt::format("{}: closed: {}", who, why));
  };
  if (!local || !remote) return fail("cannot read socket addresses");

  Deadline handshake = DeadlineAfter(options_.handshake_timeout);
  auto first = ch.ReceiveMessage(handshake);
  if (!first) {
    // Tell the client why, sealed with our token: a client with another token cannot
    // verify it and reports an authentication failure, which is the right diagnosis.
    (void)ch.SendMessage(ErrorMessage{first.error().message}, DeadlineAfter(std::chrono::milliseconds(1000)));
    return fail(first.error().message);
  }
  auto* hello = std::get_if<Hello>(&*first);
  if (!hello) return fail(fmt::format("expected hello, got {}", MessageName(*first)));
  ch.codec().SetClientNonce(hello->client_nonce);
  ch.send_timeout = std::chrono::milliseconds(hello->timeout_ms);
  ServerTransport* transport = FindTransport(hello->transport);
  if (!transport) {
    std::string why = fmt::format("transport '{}' is not available on this agent", hello->transport);
    (void)ch.SendMessage(ErrorMessage{why}, handshake);
    return fail(why);
  }
  Nonce agent_nonce = RandomNonce();
  if (auto r = ch.SendMessage(HelloAck{agent_nonce}, handshake); !r) return fail(r.error().message);
  ch.codec().SetAgentNonce(agent_nonce);

  PeerAddress peer{.local = local->addr,
                   .local_len = local->len,
                   .remote = remote->addr,
                   .remote_len = remote->len,
                   .remote_text = who};
  SessionSpec spec{.max_message_size = hello->max_message_size,
                   .timeout = std::chrono::milliseconds(hello->timeout_ms)};
  auto session = transport->Accept(peer, spec, ch);
  if (!session) {
    (void)ch.SendMessage(ErrorMessage{session.error().message}, DeadlineAfter(spec.timeout));
    return fail(fmt::format("{} setup: {}", hello->transport, session.error().message));
  }
  log_(fmt::format("{}: {} session (messages up to {} B)", who, hello->transport, hello->max_message_size));

  int tests = 0;
  for (;;) {
    auto m = ch.ReceiveMessage(DeadlineAfter(options_.idle_timeout));
    if (!m) return fail(m.error().message);
    if (std::holds_alternative<Bye>(*m)) {
      ++counters_.sessions_ok;
      log_(fmt::format("{}: session done after {} tests", who, tests));
      return;
    }
    auto* req = std::get_if<TestRequest>(&*m);
    if (!req) return fail(fmt::format("expected test or bye, got {}", MessageName(*m)));
    if (req->message_size > hello->max_message_size)
      return fail(
          fmt::format("test message size {} exceeds the session's {}", req->message_size, hello->max_message_size));
    TestSpec test = ToTestSpec(*req);
    auto r = (*session)->Serve(test);
    (void)ch.SendMessage(TestDone{.ok = r.has_value(), .error = r ? "" : r.error().message},
                         DeadlineAfter(spec.timeout));
    if (!r)
      return fail(fmt::format("{} {} {} B: {}", hello->transport, TestKindName(test.kind), test.message_size,
                              r.error().message));
    ++tests;
    ++counters_.tests_ok;
  }
}

}  // namespace fabricctl::probes
