#include "probes/socket_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "fabric/display_text.h"

namespace fabricctl::probes {
namespace {

int MillisUntil(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1000000 ? 1000000 : static_cast<int>(left) + 1;
}

std::string Errno(std::string_view what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

Result<void> SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return MakeError(Errno("fcntl"));
  return {};
}

// Waits for `events` on fd; returns false on timeout.
Result<bool> WaitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int n = ::poll(&p, 1, MillisUntil(deadline));
    if (n > 0) return true;
    if (n == 0) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    if (errno != EINTR) return MakeError(Errno("poll"));
  }
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.Release();
  }
  return *this;
}

void Fd::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

struct HostPortText {
  std::string host;
  std::string port;  // empty when none was given
  bool explicit_port = false;
};

bool AllDigits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

Result<HostPortText> SplitHostPort(std::string_view text) {
  HostPortText out;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos)
      return MakeError(fmt::format("'{}': missing ']' after IPv6 address", ShownValue(text)));
    out.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return MakeError(fmt::format("'{}': expected ':PORT' after ']'", ShownValue(text)));
      out.port = std::string(rest.substr(1));
      out.explicit_port = true;
    }
    return out;
  }
  size_t colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find(':') != colon)
    return MakeError(fmt::format("'{}': write IPv6 addresses as [ADDR]:PORT", ShownValue(text)));
  if (colon == std::string_view::npos) {
    out.host = std::string(text);
  } else {
    out.host = std::string(text.substr(0, colon));
    out.port = std::string(text.substr(colon + 1));
    out.explicit_port = true;
  }
  return out;
}

// glibc's resolver takes inet_aton's forms ("18607", "10.1", "0x7f.1", octal "0177.0.0.1")
// as IPv4 addresses; a host made of digits and dots, or starting 0x, must be a plain
// dotted quad instead.
Result<void> CheckNumericHost(std::string_view text, const std::string& host) {
  bool numeric_looking =
      host.find_first_not_of("0123456789.") == std::string::npos || host.starts_with("0x") || host.starts_with("0X");
  if (!numeric_looking) return {};
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return {};
  return MakeError(
      fmt::format("'{}': '{}' is not an IPv4 address (write it as a.b.c.d)", ShownValue(text), ShownValue(host)));
}

Result<SocketAddress> Resolve(std::string_view text, const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr)
    return MakeError(
        fmt::format("'{}': cannot resolve host '{}': {}", ShownValue(text), ShownValue(host), ::gai_strerror(rc)));
  SocketAddress out;
  std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return out;
}

}  // namespace

Result<SocketAddress> ParseHostPort(std::string_view text, std::uint16_t default_port, std::string_view default_host) {
  auto parts = SplitHostPort(text);
  if (!parts) return std::unexpected(parts.error());
  if (!parts->explicit_port && AllDigits(parts->host) && !text.starts_with('[')) {
    if (default_host.empty())
      return MakeError(fmt::format("'{}' is a bare number: write HOST:PORT (e.g. 127.0.0.1:{})", ShownValue(text),
                                   ShownValue(text)));
    parts->port = std::move(parts->host);
    parts->host = std::string(default_host);
    parts->explicit_port = true;
  }
  if (parts->host.empty()) return MakeError(fmt::format("'{}': missing host", ShownValue(text)));
  std::uint16_t port = default_port;
  if (parts->explicit_port) {
    unsigned value = 0;
    std::string_view digits = parts->port;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || value > 65535)
      return MakeError(fmt::format("'{}': port must be a number in 0..65535", ShownValue(text)));
    port = static_cast<std::uint16_t>(value);  // 0 = any free port, for listeners
  } else if (port == 0) {
    return MakeError(fmt::format("'{}': missing port (expected HOST:PORT)", ShownValue(text)));
  }
  if (auto numeric = CheckNumericHost(text, parts->host); !numeric) return std::unexpected(numeric.error());
  auto out = Resolve(text, parts->host);
  if (!out) return out;
  SetAddressPort(out->addr, port);
  return out;
}

std::string HostPortProblem(std::string_view address) {
  std::string_view host = address, port;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host = address.substr(1, close - 1);
    std::string_view rest = address.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return "expected ':PORT' after ']'";
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return "missing port after ':'";
  } else if (size_t colon = address.rfind(':'); colon != std::string_view::npos) {
    if (address.find(':') != colon) return "write IPv6 addresses as [ADDR]:PORT";
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (port.empty()) return "missing port after ':'";
  }
  if (host.empty()) return "missing host";
  if (port.empty()) return {};
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value < 1 || value > 65535)
    return "the port must be a number in 1..65535";
  return {};
}

std::string AddressText(const sockaddr_storage& addr, socklen_t) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, ntohs(a.sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof buf);
    return fmt::format("[{}]:{}", buf, ntohs(a.sin6_port));
  }
  return "?";
}

std::uint16_t AddressPort(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return 0;
}

void SetAddressPort(sockaddr_storage& addr, std::uint16_t port) {
  if (addr.ss_family == AF_INET) reinterpret_cast<sockaddr_in&>(addr).sin_port = htons(port);
  if (addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6&>(addr).sin6_port = htons(port);
}

bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  if (a.ss_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

std::string SourceBlock(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    return std::string("4") + std::string(reinterpret_cast<const char*>(&a.sin_addr), 4);
  }
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    const auto* bytes = reinterpret_cast<const char*>(&a.sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) return std::string("4") + std::string(bytes + 12, 4);
    return std::string("6") + std::string(bytes, 8);
  }
  return "?";
}

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<Fd> ListenTcp(const SocketAddress& addr, int backlog) {
  Fd fd(::socket(addr.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return MakeError(Errno("socket"));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) < 0)
    return MakeError(Errno(fmt::format("cannot listen on {}: bind", AddressText(addr.addr, addr.len))));
  if (::listen(fd.get(), backlog) < 0) return MakeError(Errno("listen"));
  if (auto r = SetNonBlocking(fd.get()); !r) return std::unexpected(r.error());
  return fd;
}

Result<SocketAddress> ParseSourceAddress(std::string_view text) {
  std::string host(text);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    out.len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    out.len = sizeof(sockaddr_in6);
  } else {
    return MakeError(fmt::format("source '{}' is not a numeric IP address (without port)", ShownValue(text)));
  }
  return out;
}

namespace {

// Whether `a` lies in the subnet of interface address `ifa` (for loopback interfaces) or
// is that address.
bool InInterface(const sockaddr_storage& a, const ifaddrs& ifa) {
  if (ifa.ifa_addr == nullptr || ifa.ifa_addr->sa_family != a.ss_family) return false;
  sockaddr_storage own{};
  std::memcpy(&own, ifa.ifa_addr, a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  if (SameHost(own, a)) return true;
  if ((ifa.ifa_flags & IFF_LOOPBACK) == 0 || ifa.ifa_netmask == nullptr || a.ss_family != AF_INET) return false;
  auto mask = reinterpret_cast<const sockaddr_in*>(ifa.ifa_netmask)->sin_addr.s_addr;
  return (reinterpret_cast<const sockaddr_in&>(own).sin_addr.s_addr & mask) ==
         (reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr & mask);
}

}  // namespace

Result<void> CheckLocalAddress(const SocketAddress& addr) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return MakeError(Errno("getifaddrs"));
  bool local = false;
  for (const ifaddrs* ifa = list; ifa != nullptr && !local; ifa = ifa->ifa_next) local = InInterface(addr.addr, *ifa);
  ::freeifaddrs(list);
  if (!local) {
    std::string text = AddressText(addr.addr, addr.len);
    return MakeError(fmt::format("source {} is not an address of this host", text.substr(0, text.rfind(':'))));
  }
  return {};
}

namespace {

Result<void> BindLocal(int fd, const LocalBinding& local) {
  if (!local.device.empty() && ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, local.device.data(),
                                            static_cast<socklen_t>(local.device.size())) < 0)
    return MakeError(Errno(fmt::format("cannot bind to device '{}'", ShownValue(local.device))));
  if (local.source.len != 0 &&
      ::bind(fd, reinterpret_cast<const sockaddr*>(&local.source.addr), local.source.len) < 0) {
    std::string text = AddressText(local.source.addr, local.source.len);
    return MakeError(Errno(fmt::format("cannot bind to source {}", text.substr(0, text.rfind(':')))));
  }
  return {};
}

}  // namespace

Result<Fd> ConnectTcp(const SocketAddress& addr, Deadline deadline, const LocalBinding& local) {
  std::string where = AddressText(addr.addr, addr.len);
  Fd fd(::socket(addr.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return MakeError(Errno("socket"));
  SetNoDelay(fd.get());
  if (auto r = BindLocal(fd.get(), local); !r) return std::unexpected(r.error());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) < 0) {
    if (errno != EINPROGRESS) return MakeError(Errno(fmt::format("cannot connect to {}", where)));
    auto ready = WaitFor(fd.get(), POLLOUT, deadline);
    if (!ready) return std::unexpected(ready.error());
    if (!*ready) return MakeError(fmt::format("cannot connect to {}: timed out", where));
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return MakeError(fmt::format("cannot connect to {}: {}", where, std::strerror(err)));
  }
  return fd;
}

Result<Fd> AcceptTcp(int listen_fd, Deadline deadline, SocketAddress& peer) {
  for (;;) {
    peer.len = sizeof peer.addr;
    int c = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer.addr), &peer.len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0) {
      SetNoDelay(c);
      return Fd(c);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return MakeError(Errno("accept"));
    auto ready = WaitFor(listen_fd, POLLIN, deadline);
    if (!ready) return std::unexpected(ready.error());
    if (!*ready) return MakeError("timed out waiting for a connection");
  }
}

Result<SocketAddress> LocalAddress(int fd) {
  SocketAddress a;
  a.len = sizeof a.addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len) < 0) return MakeError(Errno("getsockname"));
  return a;
}

Result<SocketAddress> RemoteAddress(int fd) {
  SocketAddress a;
  a.len = sizeof a.addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len) < 0) return MakeError(Errno("getpeername"));
  return a;
}

Result<void> WriteAll(int fd, std::span<const std::uint8_t> data, Deadline deadline) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto ready = WaitFor(fd, POLLOUT, deadline);
      if (!ready) return std::unexpected(ready.error());
      if (!*ready) return MakeError("timed out sending to peer");
      continue;
    }
    return MakeError(Errno("send"));
  }
  return {};
}

Result<void> ReadExact(int fd, std::span<std::uint8_t> data, Deadline deadline) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::recv(fd, data.data() + done, data.size() - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return MakeError("connection closed by peer");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      auto ready = WaitFor(fd, POLLIN, deadline);
      if (!ready) return std::unexpected(ready.error());
      if (!*ready) return MakeError("timed out waiting for peer");
      continue;
    }
    return MakeError(Errno("recv"));
  }
  return {};
}

Result<bool> WaitReadable(int fd, Deadline deadline) { return WaitFor(fd, POLLIN, deadline); }

}  // namespace fabricctl::probes
