#include "probes/sweep/metrics_server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <cerrno>

namespace fabricctl::sweep {
namespace {

constexpr std::chrono::milliseconds kAcceptPoll{200};  // how late a stop request may be noticed

std::string Reply(std::string_view status, std::string_view content_type, std::string_view body, bool with_body,
                  std::string_view extra_headers = {}) {
  return fmt::format("HTTP/1.0 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n{}", status,
                     content_type, body.size(), extra_headers, with_body ? body : std::string_view{});
}

std::string PlainReply(std::string_view status, std::string_view extra_headers = {}) {
  return Reply(status, "text/plain; charset=utf-8", fmt::format("{}\n", status), true, extra_headers);
}

// Where the headers end (the index after the blank line), or npos while incomplete.
size_t HeaderEnd(std::string_view data) {
  size_t crlf = data.find("\r\n\r\n"), lf = data.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) return crlf + 4;
  return lf != std::string_view::npos ? lf + 2 : std::string_view::npos;
}

enum class ReadOutcome { kComplete, kTooLarge, kIncomplete };

// Reads until the headers end, the size limit or the deadline, whichever comes first.
ReadOutcome ReadRequest(int fd, const MetricsServerOptions& o, std::string& data) {
  probes::Deadline deadline = probes::DeadlineAfter(o.read_timeout);
  char buffer[2048];
  while (HeaderEnd(data) == std::string::npos) {
    if (data.size() > o.max_request_bytes) return ReadOutcome::kTooLarge;
    auto ready = probes::WaitReadable(fd, deadline);
    if (!ready || !*ready) return ReadOutcome::kIncomplete;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return ReadOutcome::kIncomplete;
    data.append(buffer, static_cast<size_t>(n));
  }
  return HeaderEnd(data) > o.max_request_bytes ? ReadOutcome::kTooLarge : ReadOutcome::kComplete;
}

// Reads what the client still sends (bounded in bytes and time) after the reply went out, so
// closing with unread bytes does not reset the connection before the client reads the reply.
void Drain(int fd) {
  constexpr size_t kMaxDrain = 65536;
  probes::Deadline deadline = probes::DeadlineAfter(std::chrono::milliseconds(200));
  char buffer[2048];
  for (size_t total = 0; total < kMaxDrain;) {
    auto ready = probes::WaitReadable(fd, deadline);
    if (!ready || !*ready) return;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return;
    total += static_cast<size_t>(n);
  }
}

}  // namespace

std::string MetricsReply(std::string_view request, const MetricsPage& page) {
  std::string_view line = request.substr(0, request.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || !line.substr(sp2 + 1).starts_with("HTTP/1."))
    return PlainReply("400 Bad Request");
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view path = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD") return PlainReply("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
  if (path != "/metrics") return PlainReply("404 Not Found");
  return Reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", page.Get(), method == "GET");
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const probes::SocketAddress& address,
                                                            const MetricsPage& page, MetricsServerOptions options) {
  auto listener = probes::ListenTcp(address, 16);
  if (!listener) return std::unexpected(listener.error());
  auto bound = probes::LocalAddress(listener->get());
  if (!bound) return std::unexpected(bound.error());
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(std::move(*listener), page, options, probes::AddressText(bound->addr, bound->len)));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

MetricsServer::~MetricsServer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::Serve() {
  while (!stop_.load()) {
    auto ready = probes::WaitReadable(listener_.get(), probes::DeadlineAfter(kAcceptPoll));
    if (!ready || !*ready) continue;
    probes::SocketAddress peer;
    auto connection = probes::AcceptTcp(listener_.get(), probes::DeadlineAfter(kAcceptPoll), peer);
    if (connection) Answer(connection->get());
  }
}

void MetricsServer::Answer(int fd) {
  std::string request;
  std::string reply;
  switch (ReadRequest(fd, options_, request)) {
    case ReadOutcome::kIncomplete:
      return;  // a silent or vanished client gets nothing more than its timeout
    case ReadOutcome::kTooLarge:
      reply = PlainReply("431 Request Header Fields Too Large");
      break;
    case ReadOutcome::kComplete:
      reply = MetricsReply(std::string_view(request).substr(0, HeaderEnd(request)), page_);
      break;
  }
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size());
  (void)probes::WriteAll(fd, bytes, probes::DeadlineAfter(options_.write_timeout));
  ::shutdown(fd, SHUT_WR);
  Drain(fd);
}

}  // namespace fabricctl::sweep
