#pragma once
// The probe transport interface: one implementation per way of moving bytes (TCP, RDMA
// verbs). A `probe run` client and a `probe serve` agent meet over an authenticated
// control connection (probes/control_protocol.h); a transport never sees that protocol,
// only an OobChannel that carries its setup data (a TCP port, verbs QP number/PSN/GID/
// rkey/address) as opaque byte strings. The agent only hands a transport the address of
// the peer that connected to it, so no transport can be told to send to a third host.
//
// Flow for one client/agent pair:
//   client: ClientTransport::Connect(peer, session, oob)   agent: ServerTransport::Accept(peer, session, oob)
//           -- both sides exchange setup bytes over `oob` in whatever order the transport wants --
//   for each test (kind, message size):
//     client sends the TestSpec on the control channel (done by probe_client, not the transport),
//     client: ClientSession::RunLatency/RunBandwidth(spec)   agent: ServerSession::Serve(spec)
//     (either side may exchange more bytes over `oob` during a test, e.g. the receiver's count)
//
// Every blocking call must return within the spec's timeout (or the session's timeout for
// setup) with an error; a peer that vanishes is an error, never a hang.
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "probes/probe_result.h"

namespace fabricctl::probes {

using Bytes = std::vector<std::uint8_t>;

// Largest OobChannel message; the control protocol bounds every frame.
inline constexpr std::size_t kMaxOobBytes = 4096;
// Largest message size a test may ask for (1 GiB would not fit in a verbs MR budget).
inline constexpr std::uint32_t kMaxMessageSize = 64u << 20;

// Opaque, authenticated, ordered byte messages between the two sides of one session.
// Implemented over the control connection; for tests, over an in-memory pipe.
class OobChannel {
 public:
  virtual ~OobChannel() = default;
  // Fails if data is larger than kMaxOobBytes or the connection is gone.
  virtual Result<void> Send(std::span<const std::uint8_t> data) = 0;
  // Waits at most `timeout` for the next message from the other side.
  virtual Result<Bytes> Receive(std::chrono::milliseconds timeout) = 0;
  // True when a message is waiting (Receive would not block); waits at most `timeout`.
  // Lets a side that is busy on its data path check for the peer's "done" cheaply.
  virtual Result<bool> Pending(std::chrono::milliseconds timeout) = 0;
};

// Addresses of the control connection: the only host a transport may talk to is
// `remote`; the agent binds any data listener to `local`.
struct PeerAddress {
  sockaddr_storage local{};
  socklen_t local_len = 0;
  sockaddr_storage remote{};
  socklen_t remote_len = 0;
  std::string remote_text;  // "198.18.0.2:41234", for messages
};

// Fixed for a whole session: buffers are sized once (verbs registers memory once).
struct SessionSpec {
  std::uint32_t max_message_size = 0;
  std::chrono::milliseconds timeout{10000};  // bound on setup and on every wait
};

// One test at one message size. Exactly one of iterations / duration is non-zero.
struct TestSpec {
  TestKind kind = TestKind::kLatency;
  std::uint32_t message_size = 0;            // 1..SessionSpec::max_message_size
  std::uint64_t iterations = 0;              // round trips (lat) or messages (bw); 0 = by duration
  std::chrono::milliseconds duration{0};     // run time when iterations == 0
  std::uint64_t warmup = 0;                  // unmeasured iterations first (latency)
  std::chrono::milliseconds timeout{10000};  // bound on every wait: no progress for this long is an error
};

// Client side of a connected session. Measurements are typed; bandwidth is what the
// receiver (the agent) counted, which the transport brings back over its data path or oob.
class ClientSession {
 public:
  virtual ~ClientSession() = default;
  virtual Result<LatencyStats> RunLatency(const TestSpec& spec) = 0;
  virtual Result<BandwidthStats> RunBandwidth(const TestSpec& spec) = 0;
};

class ClientTransport {
 public:
  virtual ~ClientTransport() = default;
  virtual std::string_view Name() const = 0;  // "tcp", "verbs"; sent to the agent in Hello
  virtual Result<std::unique_ptr<ClientSession>> Connect(const PeerAddress& peer, const SessionSpec& session,
                                                         OobChannel& oob) = 0;
};

// Agent side: echoes pings, receives streams and counts them. Serve returns when the test
// is complete, failed, or the spec's time bound passed.
class ServerSession {
 public:
  virtual ~ServerSession() = default;
  virtual Result<void> Serve(const TestSpec& spec) = 0;
};

class ServerTransport {
 public:
  virtual ~ServerTransport() = default;
  virtual std::string_view Name() const = 0;
  // Must only ever exchange traffic with peer.remote (for verbs: check the peer's GID or
  // address against it). Called once per client session; must be thread-safe across
  // sessions (the agent serves several at once).
  virtual Result<std::unique_ptr<ServerSession>> Accept(const PeerAddress& peer, const SessionSpec& session,
                                                        OobChannel& oob) = 0;
};

// The implementations: probes/tcp_transport.h (MakeTcpClientTransport/MakeTcpServerTransport)
// and probes/verbs_transport.h (MakeVerbsClientTransport/MakeVerbsServerTransport).

}  // namespace fabricctl::probes
