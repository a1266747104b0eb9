#pragma once
// Sockets for the probes: an owning fd, address parsing, and reads/writes that always
// end by a deadline (poll), so no probe call can hang on a silent peer.
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fabric/error.h"

namespace fabricctl::probes {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Owns one file descriptor; move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void Close();

 private:
  int fd_ = -1;
};

struct SocketAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// "1.2.3.4:5", "[::1]:5", "host:5"; when default_port is non-zero also a bare host
// ("1.2.3.4", "[::1]", "host"); when default_host is given also a bare port ("5", on that
// host). Without a default host a bare number is an error, never an IPv4 address written
// as one number (glibc would read "18607" as 0.0.72.175): an IPv4 address must be dotted
// quad. Numeric addresses are used as they are; names go through getaddrinfo. An
// explicit port 0 is kept (a listener then takes any free port).
Result<SocketAddress> ParseHostPort(std::string_view text, std::uint16_t default_port,
                                    std::string_view default_host = {});
std::string AddressText(const sockaddr_storage& addr, socklen_t len);  // "1.2.3.4:5" / "[::1]:5"
std::uint16_t AddressPort(const sockaddr_storage& addr);
void SetAddressPort(sockaddr_storage& addr, std::uint16_t port);
// Same host (IP) regardless of port.
bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b);
// The address block a per-source limit counts as one source: an IPv4 address (also when
// IPv4-mapped), or the /64 of an IPv6 address (what one host is usually given). A short
// byte string, for use as a map key.
std::string SourceBlock(const sockaddr_storage& addr);

// Non-blocking sockets with TCP_NODELAY; every wait ends at a deadline.
Result<Fd> ListenTcp(const SocketAddress& addr, int backlog);
Result<Fd> ConnectTcp(const SocketAddress& addr, Deadline deadline);
// Waits for one connection; `peer` receives its address.
Result<Fd> AcceptTcp(int listen_fd, Deadline deadline, SocketAddress& peer);
Result<SocketAddress> LocalAddress(int fd);
Result<SocketAddress> RemoteAddress(int fd);

Result<void> WriteAll(int fd, std::span<const std::uint8_t> data, Deadline deadline);
// Fails with "connection closed by peer" on EOF before all bytes arrived.
Result<void> ReadExact(int fd, std::span<std::uint8_t> data, Deadline deadline);
// Waits until fd is readable (or error/hangup); false when the deadline passed.
Result<bool> WaitReadable(int fd, Deadline deadline);

void SetNoDelay(int fd);

inline Deadline DeadlineAfter(std::chrono::milliseconds d) { return Clock::now() + d; }

}  // namespace fabricctl::probes
