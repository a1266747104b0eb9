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
// What is wrong with the form of an agent address (HOST, HOST:PORT, [IPV6], [IPV6]:PORT,
// port 1..65535), checked without resolving names, so a file of addresses can be checked
// line by line on a host that cannot resolve them; empty when the form is fine.
std::string HostPortProblem(std::string_view address);
std::string AddressText(const sockaddr_storage& addr, socklen_t len);  // "1.2.3.4:5" / "[::1]:5"
std::uint16_t AddressPort(const sockaddr_storage& addr);
void SetAddressPort(sockaddr_storage& addr, std::uint16_t port);
// Same host (IP) regardless of port.
bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b);
// The address block a per-source limit counts as one source: an IPv4 address (also when
// IPv4-mapped), or the /64 of an IPv6 address (what one host is usually given). A short
// byte string, for use as a map key.
std::string SourceBlock(const sockaddr_storage& addr);

// Where an outgoing connection leaves from, so its traffic takes one NIC: a local address
// (bound before connect) and an interface (SO_BINDTODEVICE). Empty: the kernel's choice.
struct LocalBinding {
  SocketAddress source;  // len 0 = any; port 0 = any
  std::string device;
};
// A numeric IPv4 or IPv6 address without port, as a source to bind to (port 0); names
// are refused, a source is never resolved.
Result<SocketAddress> ParseSourceAddress(std::string_view text);
// Fails unless `addr` is an address of one of this host's interfaces (any address of a
// loopback interface's subnet counts: 127.0.0.2 is local). Independent of
// net.ipv4.ip_nonlocal_bind, which would let bind() take any address.
Result<void> CheckLocalAddress(const SocketAddress& addr);

// Non-blocking sockets with TCP_NODELAY; every wait ends at a deadline.
Result<Fd> ListenTcp(const SocketAddress& addr, int backlog);
Result<Fd> ConnectTcp(const SocketAddress& addr, Deadline deadline, const LocalBinding& local = {});
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
