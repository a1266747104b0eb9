#include "probes/probe_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "probes/agent.h"
#include "probes/control_protocol.h"
#include "probes/socket_util.h"

namespace fabricctl::probes {
namespace {

std::unexpected<Error> PeerError(const std::string& peer, std::string message) {
  return std::unexpected(Error{.message = std::move(message), .where = peer});
}

}  // namespace

std::uint64_t LatencyWarmup(std::uint64_t iterations) {
  if (iterations == 0) return 1000;
  return std::clamp<std::uint64_t>(iterations / 100, 10, 1000);
}

Result<ProbeReport> RunProbe(const ProbeOptions& o, ClientTransport& transport, const ProgressFn& progress) {
  if (o.sizes.empty()) return MakeError("no message sizes given");
  if (o.tests.empty()) return MakeError("no tests given");
  if ((o.iterations == 0) == (o.duration.count() == 0)) return MakeError("give exactly one of iterations and duration");
  if (o.timeout.count() <= 0 || static_cast<std::uint64_t>(o.timeout.count()) > kMaxTimeoutMs)
    return MakeError(fmt::format("timeout must be in 1..{} s", kMaxTimeoutMs / 1000));
  std::uint32_t max_size = *std::max_element(o.sizes.begin(), o.sizes.end());
  for (std::uint32_t s : o.sizes)
    if (s == 0 || s > kMaxMessageSize)
      return MakeError(fmt::format("message size {} outside 1..{}", s, kMaxMessageSize));

  auto addr = ParseHostPort(o.peer, kDefaultAgentPort);
  if (!addr) return PeerError(o.peer, addr.error().message);
  if (AddressPort(addr->addr) == 0) return PeerError(o.peer, "port 0 is not a valid agent port");
  auto fd = ConnectTcp(*addr, DeadlineAfter(o.timeout));
  if (!fd) return PeerError(o.peer, fd.error().message);
  auto local = LocalAddress(fd->get());
  if (!local) return PeerError(o.peer, local.error().message);

  ControlChannel ch(std::move(*fd), Role::kClient, o.token);
  ch.send_timeout = o.timeout;
  Nonce client_nonce = RandomNonce();
  Hello hello{.version = kProtocolVersion,
              .client_nonce = client_nonce,
              .transport = std::string(transport.Name()),
              .max_message_size = max_size,
              .timeout_ms = static_cast<std::uint32_t>(o.timeout.count())};
  if (auto r = ch.SendMessage(hello, DeadlineAfter(o.timeout)); !r) return PeerError(o.peer, r.error().message);
  ch.codec().SetClientNonce(client_nonce);
  auto ack = ch.ReceiveMessage(DeadlineAfter(o.timeout));
  if (!ack) {
    if (ack.error().message.starts_with("authentication failed"))
      return PeerError(o.peer, "agent's reply failed authentication: the agent uses a different token");
    // A refusing agent closes at once; with our hello unread that arrives as a reset.
    if (ack.error().message == "connection closed by peer" || ack.error().message.ends_with("Connection reset by peer"))
      return PeerError(o.peer,
                       "agent closed the connection during the handshake (too many sessions, or not a fabricctl "
                       "agent; see the agent's log)");
    return PeerError(o.peer, "handshake: " + ack.error().message);
  }
  if (auto* e = std::get_if<ErrorMessage>(&*ack)) return PeerError(o.peer, "agent refused: " + e->text);
  auto* hello_ack = std::get_if<HelloAck>(&*ack);
  if (!hello_ack) return PeerError(o.peer, fmt::format("handshake: unexpected {} message", MessageName(*ack)));
  ch.codec().SetAgentNonce(hello_ack->agent_nonce);

  PeerAddress peer{.local = local->addr,
                   .local_len = local->len,
                   .remote = addr->addr,
                   .remote_len = addr->len,
                   .remote_text = o.peer};
  SessionSpec spec{.max_message_size = max_size, .timeout = o.timeout};
  auto session = transport.Connect(peer, spec, ch);
  if (!session) return PeerError(o.peer, fmt::format("{} setup: {}", transport.Name(), session.error().message));

  ProbeReport report{.peer = o.peer, .transport = std::string(transport.Name())};
  for (TestKind kind : o.tests) {
    for (std::uint32_t size : o.sizes) {
      TestRequest req{.kind = kind,
                      .message_size = size,
                      .iterations = o.iterations,
                      .duration_ms = static_cast<std::uint32_t>(o.duration.count()),
                      .warmup = kind == TestKind::kLatency ? LatencyWarmup(o.iterations) : 0,
                      .timeout_ms = static_cast<std::uint32_t>(o.timeout.count())};
      std::string what = fmt::format("{} {} {} B", transport.Name(), TestKindName(kind), size);
      if (auto r = ch.SendMessage(req, DeadlineAfter(o.timeout)); !r)
        return PeerError(o.peer, fmt::format("{}: {}", what, r.error().message));
      TestSpec test = ToTestSpec(req);
      std::string line;
      if (kind == TestKind::kLatency) {
        auto r = (*session)->RunLatency(test);
        if (!r) return PeerError(o.peer, fmt::format("{}: {}", what, r.error().message));
        line = fmt::format("{}: p50 {:.2f} us, p99 {:.2f} us", what, r->p50_us, r->p99_us);
        report.latency.push_back(*r);
      } else {
        auto r = (*session)->RunBandwidth(test);
        if (!r) return PeerError(o.peer, fmt::format("{}: {}", what, r.error().message));
        line = fmt::format("{}: {:.3f} Gb/s", what, r->gbps);
        report.bandwidth.push_back(*r);
      }
      auto done = ch.ReceiveMessage(DeadlineAfter(o.timeout));
      if (!done) return PeerError(o.peer, fmt::format("{}: {}", what, done.error().message));
      auto* d = std::get_if<TestDone>(&*done);
      if (!d) return PeerError(o.peer, fmt::format("{}: unexpected {} message", what, MessageName(*done)));
      if (!d->ok) return PeerError(o.peer, fmt::format("{}: agent reported: {}", what, d->error));
      if (progress) progress(line);
    }
  }
  (void)ch.SendMessage(Bye{}, DeadlineAfter(o.timeout));
  return report;
}

}  // namespace fabricctl::probes
