#include "probes/probe_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "probes/agent.h"
#include "probes/control_protocol.h"
#include "probes/handshake.h"
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

namespace {

Result<std::uint32_t> CheckOptions(const ProbeOptions& o) {
  if (o.sizes.empty()) return MakeError("no message sizes given");
  if (o.tests.empty()) return MakeError("no tests given");
  if ((o.iterations == 0) == (o.duration.count() == 0)) return MakeError("give exactly one of iterations and duration");
  if (o.timeout.count() <= 0 || static_cast<std::uint64_t>(o.timeout.count()) > kMaxTimeoutMs)
    return MakeError(fmt::format("timeout must be in 1..{} s", kMaxTimeoutMs / 1000));
  for (std::uint32_t s : o.sizes)
    if (s == 0 || s > kMaxMessageSize)
      return MakeError(fmt::format("message size {} outside 1..{}", s, kMaxMessageSize));
  return *std::max_element(o.sizes.begin(), o.sizes.end());
}

// Connects and authenticates; `peer` receives the control connection's addresses.
Result<std::unique_ptr<ControlChannel>> OpenControl(const ProbeOptions& o, std::string_view transport,
                                                    std::uint32_t max_size, PeerAddress& peer) {
  auto addr = ParseHostPort(o.peer, kDefaultAgentPort);
  if (!addr) return PeerError(o.peer, addr.error().message);
  if (AddressPort(addr->addr) == 0) return PeerError(o.peer, "port 0 is not a valid agent port");
  LocalBinding binding{.device = o.device};
  if (!o.source.empty()) {
    auto source = ParseSourceAddress(o.source);
    if (!source) return PeerError(o.peer, source.error().message);
    if (auto local = CheckLocalAddress(*source); !local) return PeerError(o.peer, local.error().message);
    binding.source = *source;
  }
  auto fd = ConnectTcp(*addr, DeadlineAfter(o.timeout), binding);
  if (!fd) return PeerError(o.peer, fd.error().message);
  auto local = LocalAddress(fd->get());
  if (!local) return PeerError(o.peer, local.error().message);
  peer = PeerAddress{.local = local->addr,
                     .local_len = local->len,
                     .remote = addr->addr,
                     .remote_len = addr->len,
                     .remote_text = o.peer};

  auto ch = std::make_unique<ControlChannel>(std::move(*fd), Role::kClient, o.token);
  ch->send_timeout = o.timeout;
  Hello hello{.version = kProtocolVersion,
              .client_nonce = RandomNonce(),
              .transport = std::string(transport),
              .max_message_size = max_size,
              .timeout_ms = static_cast<std::uint32_t>(o.timeout.count())};
  if (auto r = RunClientHandshake(*ch, hello, DeadlineAfter(o.timeout)); !r)
    return PeerError(o.peer, r.error().message);
  return ch;
}

// One test at one size: the request, the measurement, and the agent's verdict. Returns the
// progress line.
Result<std::string> RunOneTest(const ProbeOptions& o, ControlChannel& ch, std::string_view transport,
                               ClientSession& session, const TestRequest& req, ProbeReport& report) {
  std::string what = fmt::format("{} {} {} B", transport, TestKindName(req.kind), req.message_size);
  auto failed = [&](const std::string& why) { return PeerError(o.peer, fmt::format("{}: {}", what, why)); };
  if (auto r = ch.SendMessage(req, DeadlineAfter(o.timeout)); !r) return failed(r.error().message);
  TestSpec test = ToTestSpec(req);
  std::string line;
  if (req.kind == TestKind::kLatency) {
    auto r = session.RunLatency(test);
    if (!r) return failed(r.error().message);
    line = fmt::format("{}: p50 {:.2f} us, p99 {:.2f} us", what, r->p50_us, r->p99_us);
    report.latency.push_back(*r);
  } else {
    auto r = session.RunBandwidth(test);
    if (!r) return failed(r.error().message);
    line = fmt::format("{}: {:.3f} Gb/s", what, r->gbps);
    report.bandwidth.push_back(*r);
  }
  auto done = ch.ReceiveMessage(DeadlineAfter(o.timeout));
  if (!done) return failed(done.error().message);
  auto* d = std::get_if<TestDone>(&*done);
  if (!d) return failed(fmt::format("unexpected {} message", MessageName(*done)));
  if (!d->ok) return failed("agent reported: " + d->error);
  return line;
}

}  // namespace

Result<ProbeReport> RunProbe(const ProbeOptions& o, ClientTransport& transport, const ProgressFn& progress) {
  auto max_size = CheckOptions(o);
  if (!max_size) return std::unexpected(max_size.error());
  PeerAddress peer;
  auto ch = OpenControl(o, transport.Name(), *max_size, peer);
  if (!ch) return std::unexpected(ch.error());
  SessionSpec spec{.max_message_size = *max_size, .timeout = o.timeout};
  auto session = transport.Connect(peer, spec, **ch);
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
      auto line = RunOneTest(o, **ch, transport.Name(), **session, req, report);
      if (!line) return std::unexpected(line.error());
      if (progress) progress(*line);
    }
  }
  (void)(*ch)->SendMessage(Bye{}, DeadlineAfter(o.timeout));
  return report;
}

}  // namespace fabricctl::probes
