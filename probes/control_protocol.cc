#include "probes/control_protocol.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace fabricctl::probes {
namespace {

constexpr std::uint8_t kMagic[4] = {'F', 'C', 'P', '2'};
// Version 1 frames: the client spoke first and its hello was not bound to the agent.
constexpr std::uint8_t kMagicVersion1[4] = {'F', 'C', 'P', '1'};
constexpr std::string_view kMacLabel = "fabricctl-probe-v2";

enum class Type : std::uint8_t {
  kHello = 1,
  kHelloAck,
  kOob,
  kTest,
  kTestDone,
  kError,
  kBye,
  kChallenge,
  kOrder,
  kOrderReply
};

class Writer {
 public:
  void U8(std::uint8_t v) { out_.push_back(v); }
  void U16(std::uint16_t v) { Int(v, 2); }
  void U32(std::uint32_t v) { Int(v, 4); }
  void U64(std::uint64_t v) { Int(v, 8); }
  void Raw(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void Blob(std::span<const std::uint8_t> b) {
    U16(static_cast<std::uint16_t>(b.size()));
    Raw(b);
  }
  void Str(std::string_view s) { Blob({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}); }
  Bytes Take() { return std::move(out_); }

 private:
  void Int(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

// Bounds-checked reader: every read names the field it wanted when the body is too short.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  Result<std::uint64_t> Int(int n, std::string_view field) {
    if (in_.size() - pos_ < static_cast<size_t>(n)) return Short(field);
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  Result<std::span<const std::uint8_t>> Blob(std::string_view field, size_t max) {
    auto len = Int(2, field);
    if (!len) return std::unexpected(len.error());
    if (*len > max) return MakeError(fmt::format("{} of {} bytes exceeds the limit of {}", field, *len, max));
    if (in_.size() - pos_ < *len) return Short(field);
    auto out = in_.subspan(pos_, *len);
    pos_ += *len;
    return out;
  }
  Result<std::span<const std::uint8_t>> Raw(size_t n, std::string_view field) {
    if (in_.size() - pos_ < n) return Short(field);
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  Result<void> End(std::string_view what) {
    if (pos_ != in_.size()) return MakeError(fmt::format("{} message has {} trailing bytes", what, in_.size() - pos_));
    return {};
  }

 private:
  std::unexpected<Error> Short(std::string_view field) {
    return MakeError(fmt::format("message truncated: missing {}", field));
  }
  std::span<const std::uint8_t> in_;
  size_t pos_ = 0;
};

// Text from the peer ends up in logs: printable ASCII only, so it cannot forge log lines
// or send terminal escapes.
Result<std::string> Text(std::span<const std::uint8_t> b, std::string_view field) {
  for (std::uint8_t c : b)
    if (c < 0x20 || c > 0x7e) return MakeError(fmt::format("{} contains a non-printable byte 0x{:02x}", field, c));
  return std::string(b.begin(), b.end());
}

bool ValidTransportName(std::string_view s) {
  if (s.empty() || s.size() > 16) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

#define TRY_ASSIGN(var, expr)                            \
  auto var##_r = (expr);                                 \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  auto var = *var##_r

Result<std::uint16_t> ReadVersion(Reader& r) {
  TRY_ASSIGN(version, r.Int(2, "version"));
  if (version != kProtocolVersion)
    return MakeError(
        fmt::format("protocol version {} not supported (this side speaks {}): run the same fabricctl "
                    "release on every host",
                    version, kProtocolVersion));
  return static_cast<std::uint16_t>(version);
}

Result<Nonce> ReadNonce(Reader& r, std::string_view field) {
  TRY_ASSIGN(bytes, r.Raw(kNonceSize, field));
  Nonce n{};
  std::memcpy(n.data(), bytes.data(), kNonceSize);
  return n;
}

Result<Message> DecodeHello(Reader& r) {
  Hello h;
  TRY_ASSIGN(version, ReadVersion(r));
  h.version = version;
  TRY_ASSIGN(nonce, ReadNonce(r, "client nonce"));
  h.client_nonce = nonce;
  TRY_ASSIGN(name, r.Blob("transport name", 16));
  TRY_ASSIGN(text, Text(name, "transport name"));
  if (!ValidTransportName(text)) return MakeError(fmt::format("invalid transport name '{}'", text));
  h.transport = text;
  TRY_ASSIGN(max_size, r.Int(4, "max message size"));
  if (max_size == 0 || max_size > kMaxMessageSize)
    return MakeError(fmt::format("max message size {} outside 1..{}", max_size, kMaxMessageSize));
  h.max_message_size = static_cast<std::uint32_t>(max_size);
  TRY_ASSIGN(timeout, r.Int(4, "timeout"));
  if (timeout == 0 || timeout > kMaxTimeoutMs)
    return MakeError(fmt::format("timeout {} ms outside 1..{}", timeout, kMaxTimeoutMs));
  h.timeout_ms = static_cast<std::uint32_t>(timeout);
  if (auto e = r.End("hello"); !e) return std::unexpected(e.error());
  return h;
}

Result<Message> DecodeTest(Reader& r) {
  TestRequest t;
  TRY_ASSIGN(kind, r.Int(1, "test kind"));
  if (kind != static_cast<int>(TestKind::kLatency) && kind != static_cast<int>(TestKind::kBandwidth))
    return MakeError(fmt::format("unknown test kind {}", kind));
  t.kind = static_cast<TestKind>(kind);
  TRY_ASSIGN(size, r.Int(4, "message size"));
  if (size == 0 || size > kMaxMessageSize)
    return MakeError(fmt::format("message size {} outside 1..{}", size, kMaxMessageSize));
  t.message_size = static_cast<std::uint32_t>(size);
  TRY_ASSIGN(iters, r.Int(8, "iterations"));
  TRY_ASSIGN(duration, r.Int(4, "duration"));
  if (iters > kMaxIterations) return MakeError(fmt::format("iterations {} exceed {}", iters, kMaxIterations));
  if (duration > kMaxDurationMs) return MakeError(fmt::format("duration {} ms exceeds {}", duration, kMaxDurationMs));
  if ((iters == 0) == (duration == 0)) return MakeError("exactly one of iterations and duration must be set");
  t.iterations = iters;
  t.duration_ms = static_cast<std::uint32_t>(duration);
  TRY_ASSIGN(warmup, r.Int(8, "warmup"));
  if (warmup > kMaxIterations) return MakeError(fmt::format("warmup {} exceeds {}", warmup, kMaxIterations));
  t.warmup = warmup;
  TRY_ASSIGN(timeout, r.Int(4, "timeout"));
  if (timeout == 0 || timeout > kMaxTimeoutMs)
    return MakeError(fmt::format("timeout {} ms outside 1..{}", timeout, kMaxTimeoutMs));
  t.timeout_ms = static_cast<std::uint32_t>(timeout);
  if (auto e = r.End("test"); !e) return std::unexpected(e.error());
  return t;
}

// A bounded, printable text field.
Result<std::string> ReadText(Reader& r, std::string_view field, size_t max) {
  TRY_ASSIGN(blob, r.Blob(field, max));
  return Text(blob, field);
}

// A number in 1..max, named in the error when it is not.
Result<std::uint64_t> ReadCount(Reader& r, int bytes, std::string_view field, std::uint64_t max) {
  TRY_ASSIGN(value, r.Int(bytes, field));
  if (value == 0 || value > max) return MakeError(fmt::format("{} {} outside 1..{}", field, value, max));
  return value;
}

Result<OrderSettings> ReadOrderSettings(Reader& r) {
  OrderSettings s;
  TRY_ASSIGN(transport, ReadText(r, "transport name", 16));
  if (!ValidTransportName(transport) || transport == kOrderSessionName)
    return MakeError(fmt::format("invalid probe transport name '{}'", transport));
  s.transport = transport;
  TRY_ASSIGN(iterations, ReadCount(r, 8, "latency iterations", kMaxIterations));
  s.latency_iterations = iterations;
  TRY_ASSIGN(size, ReadCount(r, 4, "message size", kMaxMessageSize));
  s.message_size = static_cast<std::uint32_t>(size);
  TRY_ASSIGN(duration, ReadCount(r, 4, "bandwidth duration", kMaxDurationMs));
  s.bandwidth_duration = std::chrono::milliseconds(duration);
  TRY_ASSIGN(timeout, ReadCount(r, 4, "timeout", kMaxTimeoutMs));
  s.timeout = std::chrono::milliseconds(timeout);
  TRY_ASSIGN(tests, r.Int(1, "order tests"));
  if (tests < 1 || tests > 3) return MakeError(fmt::format("order tests {} outside 1..3", tests));
  s.tests = static_cast<OrderTests>(tests);
  return s;
}

Result<OrderItem> ReadOrderItem(Reader& r) {
  OrderItem item;
  TRY_ASSIGN(source, ReadText(r, "source address", kMaxOrderSourceSize));
  TRY_ASSIGN(device, ReadText(r, "device", kMaxOrderDeviceSize));
  TRY_ASSIGN(rdma, ReadText(r, "rdma device", kMaxOrderRdmaSize));
  TRY_ASSIGN(target, ReadText(r, "target", kMaxOrderTargetSize));
  if (target.empty()) return MakeError("order item without a target");
  item.source = source;
  item.device = device;
  item.rdma = rdma;
  item.target = target;
  return item;
}

Result<Message> DecodeOrder(Reader& r) {
  OrderRequest order;
  TRY_ASSIGN(settings, ReadOrderSettings(r));
  order.settings = settings;
  TRY_ASSIGN(count, ReadCount(r, 2, "order item count", kMaxOrderItems));
  for (std::uint64_t i = 0; i < count; ++i) {
    auto item = ReadOrderItem(r);
    if (!item) return MakeError(fmt::format("order item {}: {}", i + 1, item.error().message));
    order.items.push_back(std::move(*item));
  }
  if (auto e = r.End("order"); !e) return std::unexpected(e.error());
  return order;
}

// A measurement travels as the bits of a double; anything but a finite, non-negative
// number is refused.
Result<double> ReadMeasure(Reader& r, std::string_view field) {
  TRY_ASSIGN(bits, r.Int(8, field));
  double value = std::bit_cast<double>(bits);
  if (!std::isfinite(value) || value < 0)
    return MakeError(fmt::format("{} is not a finite non-negative number", field));
  return value;
}

Result<OrderResult> ReadOrderResult(Reader& r) {
  OrderResult result;
  TRY_ASSIGN(ok, r.Int(1, "status"));
  if (ok > 1) return MakeError(fmt::format("order result status {} is neither 0 nor 1", ok));
  result.ok = ok == 1;
  TRY_ASSIGN(latency, ReadMeasure(r, "latency"));
  TRY_ASSIGN(gbps, ReadMeasure(r, "bandwidth"));
  TRY_ASSIGN(error, ReadText(r, "error text", kMaxOrderErrorSize));
  if (result.ok != error.empty()) return MakeError("an order result has an error text exactly when it failed");
  result.latency_us = latency;
  result.gbps = gbps;
  result.error = error;
  return result;
}

Result<Message> DecodeOrderReply(Reader& r) {
  OrderReply reply;
  TRY_ASSIGN(count, ReadCount(r, 2, "order result count", kMaxOrderItems));
  for (std::uint64_t i = 0; i < count; ++i) {
    auto result = ReadOrderResult(r);
    if (!result) return MakeError(fmt::format("order result {}: {}", i + 1, result.error().message));
    reply.results.push_back(std::move(*result));
  }
  if (auto e = r.End("order-result"); !e) return std::unexpected(e.error());
  return reply;
}

void WriteOrder(Writer& w, const OrderRequest& order) {
  const OrderSettings& s = order.settings;
  w.Str(s.transport);
  w.U64(s.latency_iterations);
  w.U32(s.message_size);
  w.U32(static_cast<std::uint32_t>(s.bandwidth_duration.count()));
  w.U32(static_cast<std::uint32_t>(s.timeout.count()));
  w.U8(static_cast<std::uint8_t>(s.tests));
  w.U16(static_cast<std::uint16_t>(order.items.size()));
  for (const OrderItem& item : order.items) {
    w.Str(item.source);
    w.Str(item.device);
    w.Str(item.rdma);
    w.Str(item.target);
  }
}

void WriteOrderReply(Writer& w, const OrderReply& reply) {
  w.U16(static_cast<std::uint16_t>(reply.results.size()));
  for (const OrderResult& result : reply.results) {
    w.U8(result.ok ? 1 : 0);
    w.U64(std::bit_cast<std::uint64_t>(result.latency_us));
    w.U64(std::bit_cast<std::uint64_t>(result.gbps));
    // What the decoder insists on: printable text, present exactly when the item failed.
    std::string error = result.error.substr(0, kMaxOrderErrorSize);
    for (char& c : error)
      if (c < 0x20 || c > 0x7e) c = ' ';
    if (!result.ok && error.empty()) error = "failed";
    w.Str(result.ok ? std::string() : error);
  }
}

Result<Message> DecodeChallenge(Reader& r) {
  Challenge c;
  TRY_ASSIGN(version, ReadVersion(r));
  c.version = version;
  TRY_ASSIGN(nonce, ReadNonce(r, "agent nonce"));
  c.agent_nonce = nonce;
  if (auto e = r.End("challenge"); !e) return std::unexpected(e.error());
  return c;
}

}  // namespace

std::string_view MessageName(const Message& m) {
  static constexpr std::string_view kNames[] = {"hello", "hello-ack", "oob",       "test",  "test-done",
                                                "error", "bye",       "challenge", "order", "order-result"};
  return kNames[m.index()];
}

Bytes EncodeMessage(const Message& m) {
  Writer w;
  w.U8(static_cast<std::uint8_t>(m.index() + 1));
  if (auto* h = std::get_if<Hello>(&m)) {
    w.U16(h->version);
    w.Raw(h->client_nonce);
    w.Str(h->transport);
    w.U32(h->max_message_size);
    w.U32(h->timeout_ms);
  } else if (auto* c = std::get_if<Challenge>(&m)) {
    w.U16(c->version);
    w.Raw(c->agent_nonce);
  } else if (auto* o = std::get_if<OobData>(&m)) {
    w.Blob(o->data);
  } else if (auto* t = std::get_if<TestRequest>(&m)) {
    w.U8(static_cast<std::uint8_t>(t->kind));
    w.U32(t->message_size);
    w.U64(t->iterations);
    w.U32(t->duration_ms);
    w.U64(t->warmup);
    w.U32(t->timeout_ms);
  } else if (auto* d = std::get_if<TestDone>(&m)) {
    w.U8(d->ok ? 1 : 0);
    w.Str(d->error.substr(0, kMaxTextSize));
  } else if (auto* e = std::get_if<ErrorMessage>(&m)) {
    w.Str(e->text.substr(0, kMaxTextSize));
  } else if (auto* order = std::get_if<OrderRequest>(&m)) {
    WriteOrder(w, *order);
  } else if (auto* reply = std::get_if<OrderReply>(&m)) {
    WriteOrderReply(w, *reply);
  }
  return w.Take();
}

Result<Message> DecodeMessage(std::span<const std::uint8_t> body) {
  Reader r(body);
  TRY_ASSIGN(type, r.Int(1, "message type"));
  switch (static_cast<Type>(type)) {
    case Type::kHello:
      return DecodeHello(r);
    case Type::kHelloAck:
      if (auto e = r.End("hello-ack"); !e) return std::unexpected(e.error());
      return HelloAck{};
    case Type::kChallenge:
      return DecodeChallenge(r);
    case Type::kOob: {
      TRY_ASSIGN(data, r.Blob("oob data", kMaxOobBytes));
      if (auto e = r.End("oob"); !e) return std::unexpected(e.error());
      return OobData{Bytes(data.begin(), data.end())};
    }
    case Type::kTest:
      return DecodeTest(r);
    case Type::kTestDone: {
      TestDone d;
      TRY_ASSIGN(ok, r.Int(1, "status"));
      if (ok > 1) return MakeError(fmt::format("test-done status {} is neither 0 nor 1", ok));
      d.ok = ok == 1;
      TRY_ASSIGN(blob, r.Blob("error text", kMaxTextSize));
      TRY_ASSIGN(text, Text(blob, "error text"));
      d.error = text;
      if (auto e = r.End("test-done"); !e) return std::unexpected(e.error());
      return d;
    }
    case Type::kError: {
      TRY_ASSIGN(blob, r.Blob("error text", kMaxTextSize));
      TRY_ASSIGN(text, Text(blob, "error text"));
      if (auto e = r.End("error"); !e) return std::unexpected(e.error());
      return ErrorMessage{text};
    }
    case Type::kBye:
      if (auto e = r.End("bye"); !e) return std::unexpected(e.error());
      return Bye{};
    case Type::kOrder:
      return DecodeOrder(r);
    case Type::kOrderReply:
      return DecodeOrderReply(r);
  }
  return MakeError(fmt::format("unknown message type {}", type));
}

TestSpec ToTestSpec(const TestRequest& r) {
  return TestSpec{.kind = r.kind,
                  .message_size = r.message_size,
                  .iterations = r.iterations,
                  .duration = std::chrono::milliseconds(r.duration_ms),
                  .warmup = r.warmup,
                  .timeout = std::chrono::milliseconds(r.timeout_ms)};
}

FrameCodec::FrameCodec(Role role, Bytes token) : role_(role), token_(std::move(token)) {}

Result<std::uint32_t> FrameCodec::ParseHeader(std::span<const std::uint8_t> header) {
  if (header.size() < kFrameHeaderSize) return MakeError("frame header truncated");
  if (std::memcmp(header.data(), kMagicVersion1, 4) == 0)
    return MakeError(fmt::format(
        "peer speaks probe protocol version 1 (an older fabricctl); this side speaks {}: upgrade the older side",
        kProtocolVersion));
  if (std::memcmp(header.data(), kMagic, 4) != 0) return MakeError("not a fabricctl probe frame (bad magic)");
  std::uint32_t len = 0;
  for (int i = 4; i < 8; ++i) len = (len << 8) | header[i];
  if (len == 0) return MakeError("empty frame body");
  if (len > kMaxBodySize)
    return MakeError(fmt::format("frame body of {} bytes exceeds the limit of {}", len, kMaxBodySize));
  return len;
}

std::array<std::uint8_t, kMacSize> FrameCodec::Mac(Role sender, std::span<const std::uint8_t> header_and_body) const {
  Bytes input;
  input.reserve(kMacLabel.size() + 1 + 2 * kNonceSize + header_and_body.size());
  input.insert(input.end(), kMacLabel.begin(), kMacLabel.end());
  input.push_back(static_cast<std::uint8_t>(sender));
  input.insert(input.end(), client_nonce_.begin(), client_nonce_.end());
  input.insert(input.end(), agent_nonce_.begin(), agent_nonce_.end());
  input.insert(input.end(), header_and_body.begin() + 4, header_and_body.end());  // magic is constant
  std::array<std::uint8_t, kMacSize> mac{};
  unsigned int len = 0;
  ::HMAC(EVP_sha256(), token_.data(), static_cast<int>(token_.size()), input.data(), input.size(), mac.data(), &len);
  return mac;
}

Bytes FrameCodec::Seal(const Message& m) {
  Bytes body = EncodeMessage(m);
  Writer w;
  w.Raw(kMagic);
  w.U32(static_cast<std::uint32_t>(body.size()));
  std::uint64_t seq = send_seq_++;
  w.U64(seq);
  w.Raw(body);
  Bytes frame = w.Take();
  auto mac = Mac(role_, frame);
  frame.insert(frame.end(), mac.begin(), mac.end());
  if (seq == 0) TakeNonce(m);
  return frame;
}

// The first frame each way opens the handshake and nothing else may: a second challenge or
// hello could otherwise swap a nonce mid-session.
Result<void> FrameCodec::CheckHandshakeOrder(const Message& m, std::uint64_t seq) const {
  bool from_agent = role_ == Role::kClient;
  if (!from_agent && send_seq_ == 0) return MakeError("a frame arrived before the challenge was sent");
  bool opener = std::holds_alternative<Challenge>(m) || std::holds_alternative<Hello>(m);
  std::string_view expected = from_agent ? "challenge" : "hello";
  if (seq == 0 && MessageName(m) != expected)
    return MakeError(fmt::format("expected {} as the first frame, got {}", expected, MessageName(m)));
  if (seq != 0 && opener) return MakeError(fmt::format("unexpected {} after the handshake", MessageName(m)));
  return {};
}

// Only ever from the first frame each way.
void FrameCodec::TakeNonce(const Message& m) {
  if (auto* c = std::get_if<Challenge>(&m)) agent_nonce_ = c->agent_nonce;
  if (auto* h = std::get_if<Hello>(&m)) client_nonce_ = h->client_nonce;
}

Result<Message> FrameCodec::Open(std::span<const std::uint8_t> frame) {
  auto len = ParseHeader(frame);
  if (!len) return std::unexpected(len.error());
  if (frame.size() != kFrameHeaderSize + *len + kMacSize)
    return MakeError(
        fmt::format("frame is {} bytes, header announces {}", frame.size(), kFrameHeaderSize + *len + kMacSize));
  Role sender = role_ == Role::kClient ? Role::kAgent : Role::kClient;
  auto expected = Mac(sender, frame.first(kFrameHeaderSize + *len));
  if (CRYPTO_memcmp(expected.data(), frame.data() + kFrameHeaderSize + *len, kMacSize) != 0)
    return MakeError("authentication failed: bad HMAC (wrong token, or the frame was altered or replayed)");
  std::uint64_t seq = 0;
  for (int i = 8; i < 16; ++i) seq = (seq << 8) | frame[i];
  if (seq != recv_seq_)
    return MakeError(fmt::format("replayed or out-of-order frame: sequence {}, expected {}", seq, recv_seq_));
  ++recv_seq_;
  auto m = DecodeMessage(frame.subspan(kFrameHeaderSize, *len));
  if (!m) return m;
  if (auto order = CheckHandshakeOrder(*m, seq); !order) return std::unexpected(order.error());
  if (seq == 0) TakeNonce(*m);
  return m;
}

namespace {

std::unexpected<Error> TokenFileError(const std::string& path, std::string message) {
  return std::unexpected(Error{.message = std::move(message), .where = path});
}

std::string_view FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// The checks that need no read: a regular file, private, not larger than a token can be.
Result<void> CheckTokenFile(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode))
    return TokenFileError(path, fmt::format("token file is {}; give a regular file", FileKind(st.st_mode)));
  if ((st.st_mode & 077) != 0)
    return TokenFileError(
        path, fmt::format("token file is accessible by group or others (mode {:o}); run chmod 600", st.st_mode & 0777));
  if (static_cast<std::uint64_t>(st.st_size) > kMaxTokenFileSize)
    return TokenFileError(path, fmt::format("token file is {} bytes, more than a token can be (at most {})", st.st_size,
                                            kMaxTokenFileSize));
  return {};
}

}  // namespace

Result<Bytes> ReadTokenFile(const std::string& path) {
  // Checked before opening (opening a FIFO without O_NONBLOCK waits for a writer, and
  // some devices act on open) and again on the open descriptor, in case the path changed.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return TokenFileError(path, fmt::format("cannot read token file: {}", std::strerror(errno)));
  if (auto r = CheckTokenFile(path, st); !r) return std::unexpected(r.error());
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return TokenFileError(path, fmt::format("cannot read token file: {}", std::strerror(errno)));
  if (::fstat(fd.get(), &st) != 0)
    return TokenFileError(path, fmt::format("cannot read token file: {}", std::strerror(errno)));
  if (auto r = CheckTokenFile(path, st); !r) return std::unexpected(r.error());
  std::string token(kMaxTokenFileSize + 1, '\0');
  std::size_t got = 0;
  while (got < token.size()) {
    ssize_t n = ::read(fd.get(), token.data() + got, token.size() - got);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return TokenFileError(path, fmt::format("cannot read token file: {}", std::strerror(errno)));
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxTokenFileSize)
    return TokenFileError(path,
                          fmt::format("token file is more than a token can be (at most {} bytes)", kMaxTokenFileSize));
  token.resize(got);
  while (!token.empty() &&
         (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.size() < kMinTokenSize)
    return TokenFileError(
        path, fmt::format("token is {} bytes, need at least {} (e.g. head -c 32 /dev/urandom | base64 > FILE)",
                          token.size(), kMinTokenSize));
  return Bytes(token.begin(), token.end());
}

Nonce RandomNonce() {
  Nonce n{};
  if (::RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) {
    // RAND_bytes only fails when the OS has no entropy source at all; fall back to the
    // kernel directly rather than run with a predictable nonce.
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      [[maybe_unused]] ssize_t r = ::read(fd, n.data(), n.size());
      ::close(fd);
    }
  }
  return n;
}

Result<void> ControlChannel::SendMessage(const Message& m, Deadline deadline) {
  Bytes frame = codec_.Seal(m);
  return WriteAll(fd_.get(), frame, deadline);
}

Result<Message> ControlChannel::ReceiveMessage(Deadline deadline) {
  Bytes frame(kFrameHeaderSize);
  if (auto r = ReadExact(fd_.get(), frame, deadline); !r) return std::unexpected(r.error());
  auto len = FrameCodec::ParseHeader(frame);
  if (!len) return std::unexpected(len.error());
  frame.resize(kFrameHeaderSize + *len + kMacSize);
  if (auto r = ReadExact(fd_.get(), std::span(frame).subspan(kFrameHeaderSize), deadline); !r)
    return std::unexpected(r.error());
  return codec_.Open(frame);
}

Result<void> ControlChannel::Send(std::span<const std::uint8_t> data) {
  if (data.size() > kMaxOobBytes)
    return MakeError(fmt::format("out-of-band message of {} bytes exceeds {}", data.size(), kMaxOobBytes));
  return SendMessage(OobData{Bytes(data.begin(), data.end())}, DeadlineAfter(send_timeout));
}

Result<Bytes> ControlChannel::Receive(std::chrono::milliseconds timeout) {
  auto m = ReceiveMessage(DeadlineAfter(timeout));
  if (!m) return std::unexpected(m.error());
  if (auto* o = std::get_if<OobData>(&*m)) return std::move(o->data);
  if (auto* e = std::get_if<ErrorMessage>(&*m)) return MakeError(fmt::format("peer reported: {}", e->text));
  if (auto* d = std::get_if<TestDone>(&*m); d && !d->ok) return MakeError(fmt::format("agent reported: {}", d->error));
  return MakeError(fmt::format("unexpected {} message while waiting for transport data", MessageName(*m)));
}

Result<bool> ControlChannel::Pending(std::chrono::milliseconds timeout) {
  return WaitReadable(fd_.get(), DeadlineAfter(timeout));
}

}  // namespace fabricctl::probes
