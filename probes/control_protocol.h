#pragma once
// The probe control protocol (version 3) between `probe run` and `probe serve`: small typed
// messages in length-prefixed frames, each authenticated with HMAC-SHA256 under a shared
// token and bound to the session (both sides' random nonces) and to its place in it (a
// per-direction sequence number), so a frame cannot be forged, replayed or reordered. The
// parser is strict: any frame that is too large, has a bad magic, a bad MAC, an unexpected
// sequence number, an unknown type, an out-of-range field or trailing bytes is an error.
//
// Frame (the layout of version 2, hence its magic):  "FCP2" | u32 body length | u64 sequence | body | HMAC-SHA256 (32
// bytes) Body:   u8 type | fields (big-endian integers; strings and blobs as u16 length + bytes) MAC over:
// "fabricctl-probe-v2" | u8 direction | client nonce | agent nonce | length |
//           sequence | body, where a nonce is all zeros until the frame that carries it.
//
// Handshake: the agent speaks first, with a challenge carrying a fresh agent nonce; the
// client's hello carries the client nonce and its MAC covers the agent nonce, so a hello
// recorded from one connection fails authentication on any other. From the agent's
// hello-ack on, every MAC covers both nonces. The codec enforces the order: the first frame
// from the agent is a challenge, the first from the client a hello, and neither comes again.
// A version-1 frame ("FCP1", where the client spoke first) is refused with a clear error.
#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "fabric/error.h"
#include "probes/order_client.h"
#include "probes/socket_util.h"
#include "probes/transport.h"

namespace fabricctl::probes {

inline constexpr std::uint16_t kProtocolVersion = 3;
inline constexpr std::size_t kFrameHeaderSize = 16;
inline constexpr std::size_t kMacSize = 32;
// An order of kMaxOrderItems items, or its results, fits (at most about 29 KiB and 20 KiB).
inline constexpr std::size_t kMaxBodySize = 32 * 1024;
inline constexpr std::size_t kNonceSize = 16;
inline constexpr std::size_t kMinTokenSize = 16;
inline constexpr std::size_t kMaxTokenFileSize = 4096;
// A hello body is at most 45 bytes; an unauthenticated peer's first frame may not be larger.
inline constexpr std::size_t kMaxHelloBodySize = 64;
inline constexpr std::size_t kMaxTextSize = 1024;
inline constexpr std::uint32_t kMaxDurationMs = 3600 * 1000;
inline constexpr std::uint64_t kMaxIterations = 1'000'000'000;
inline constexpr std::uint32_t kMaxTimeoutMs = 600 * 1000;

using Nonce = std::array<std::uint8_t, kNonceSize>;

struct Challenge {  // agent -> client, first frame, sent on accept
  std::uint16_t version = kProtocolVersion;
  Nonce agent_nonce{};
};
struct Hello {  // client -> agent, first frame; its MAC covers the challenge's nonce
  std::uint16_t version = kProtocolVersion;
  Nonce client_nonce{};
  std::string transport;  // [a-z0-9_-]{1,16}
  std::uint32_t max_message_size = 0;
  std::uint32_t timeout_ms = 0;
};
struct HelloAck {};  // agent -> client: authenticated, transport available
struct OobData {     // either way: a transport's setup or sync bytes
  Bytes data;
};
struct TestRequest {  // client -> agent
  TestKind kind = TestKind::kLatency;
  std::uint32_t message_size = 0;
  std::uint64_t iterations = 0;
  std::uint32_t duration_ms = 0;
  std::uint64_t warmup = 0;
  std::uint32_t timeout_ms = 0;
};
struct TestDone {  // agent -> client after each test
  bool ok = true;
  std::string error;
};
struct ErrorMessage {  // either way, then the sender closes
  std::string text;
};
struct Bye {};  // client -> agent: session over

// The hello's transport name that opens an order session (a coordinator, not a probe).
inline constexpr std::string_view kOrderSessionName = "order";
// Bounds of an order's text fields: an address without port, an interface name
// (IFNAMSIZ - 1), "DEVICE:PORT" (a verbs device name is at most 64 bytes), "HOST[:PORT]".
inline constexpr std::size_t kMaxOrderSourceSize = 64;
inline constexpr std::size_t kMaxOrderDeviceSize = 15;
inline constexpr std::size_t kMaxOrderRdmaSize = 72;
inline constexpr std::size_t kMaxOrderTargetSize = 300;
inline constexpr std::size_t kMaxOrderErrorSize = 300;

struct OrderRequest {  // coordinator -> agent, on an order session: run these probes
  OrderSettings settings;
  std::vector<OrderItem> items;  // 1..kMaxOrderItems
};
struct OrderReply {  // agent -> coordinator: one result per item, in order
  std::vector<OrderResult> results;
};

using Message = std::variant<Hello, HelloAck, OobData, TestRequest, TestDone, ErrorMessage, Bye, Challenge,
                             OrderRequest, OrderReply>;
std::string_view MessageName(const Message& m);

// Body encoding; DecodeMessage is the strict parser (fuzzed in tools/fuzz/).
Bytes EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::span<const std::uint8_t> body);

TestSpec ToTestSpec(const TestRequest& r);

enum class Role : std::uint8_t { kClient = 1, kAgent = 2 };

// Seals and opens frames for one side of one session. It takes each side's nonce from the
// challenge and the hello as they pass, so callers never handle nonces.
class FrameCodec {
 public:
  FrameCodec(Role role, Bytes token);
  // Returns the body length announced by a frame header, or why the header is bad.
  static Result<std::uint32_t> ParseHeader(std::span<const std::uint8_t> header);
  Bytes Seal(const Message& m);
  // `frame` is the whole frame (header, body, MAC).
  Result<Message> Open(std::span<const std::uint8_t> frame);

 private:
  std::array<std::uint8_t, kMacSize> Mac(Role sender, std::span<const std::uint8_t> header_and_body) const;
  Result<void> CheckHandshakeOrder(const Message& m, std::uint64_t seq) const;
  void TakeNonce(const Message& m);
  Role role_;
  Bytes token_;
  Nonce client_nonce_{};
  Nonce agent_nonce_{};
  std::uint64_t send_seq_ = 0;
  std::uint64_t recv_seq_ = 0;
};

// Reads a shared token from a file: at least kMinTokenSize bytes after trimming trailing
// whitespace; refused when group or others may read it (like ssh private keys), and
// refused at once, never waited on, unless it is a regular file of at most
// kMaxTokenFileSize bytes (a FIFO, a directory or a device is an error).
Result<Bytes> ReadTokenFile(const std::string& path);
Nonce RandomNonce();

// One authenticated control connection; also the OobChannel handed to transports.
class ControlChannel final : public OobChannel {
 public:
  ControlChannel(Fd fd, Role role, Bytes token) : fd_(std::move(fd)), codec_(role, std::move(token)) {}
  ControlChannel(Fd fd, FrameCodec codec) : fd_(std::move(fd)), codec_(std::move(codec)) {}
  int fd() const { return fd_.get(); }
  FrameCodec& codec() { return codec_; }
  Result<void> SendMessage(const Message& m, Deadline deadline);
  Result<Message> ReceiveMessage(Deadline deadline);

  Result<void> Send(std::span<const std::uint8_t> data) override;
  Result<Bytes> Receive(std::chrono::milliseconds timeout) override;
  Result<bool> Pending(std::chrono::milliseconds timeout) override;

  std::chrono::milliseconds send_timeout{10000};

 private:
  Fd fd_;
  FrameCodec codec_;
};

}  // namespace fabricctl::probes
