#include "probes/sweep/metrics_server.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace fabricctl::sweep {
namespace {

const char* const kPage = "# TYPE fabricctl_monitor_passes_total counter\nfabricctl_monitor_passes_total 3\n";

TEST_CASE("metrics reply: /metrics for GET and HEAD, 404 elsewhere, 405 and 400 for the rest") {
  MetricsPage page;
  page.Set(kPage);
  std::string ok = MetricsReply("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", page);
  CHECK(ok.starts_with("HTTP/1.0 200 OK\r\n"));
  CHECK(ok.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(ok.find(fmt::format("Content-Length: {}\r\n", std::string(kPage).size())) != std::string::npos);
  CHECK(ok.ends_with(std::string("\r\n\r\n") + kPage));
  CHECK(MetricsReply("GET /metrics?x=1 HTTP/1.0\n\n", page).starts_with("HTTP/1.0 200 OK"));
  std::string head = MetricsReply("HEAD /metrics HTTP/1.0\r\n\r\n", page);
  CHECK(head.starts_with("HTTP/1.0 200 OK"));
  CHECK(head.ends_with("\r\n\r\n"));
  for (const char* request : {"GET / HTTP/1.0\r\n\r\n", "GET /metricsx HTTP/1.0\r\n\r\n",
                              "GET /../metrics HTTP/1.0\r\n\r\n", "GET /etc/passwd HTTP/1.0\r\n\r\n"})
    CHECK(MetricsReply(request, page).starts_with("HTTP/1.0 404 Not Found\r\n"));
  std::string post = MetricsReply("POST /metrics HTTP/1.0\r\n\r\n", page);
  CHECK(post.starts_with("HTTP/1.0 405 Method Not Allowed\r\n"));
  CHECK(post.find("Allow: GET, HEAD\r\n") != std::string::npos);
  for (const char* request : {"\r\n\r\n", "GET\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics SPDY/3\r\n\r\n"})
    CHECK(MetricsReply(request, page).starts_with("HTTP/1.0 400 Bad Request\r\n"));
}

// Sends `request` to the server and returns everything it answers until it closes.
std::string Exchange(const std::string& address, std::string_view request) {
  auto target = probes::ParseHostPort(address, 0);
  REQUIRE(target);
  auto fd = probes::ConnectTcp(*target, probes::DeadlineAfter(std::chrono::seconds(5)));
  REQUIRE(fd);
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(request.data()), request.size());
  // The server may answer and close before reading all of an oversized request.
  (void)probes::WriteAll(fd->get(), bytes, probes::DeadlineAfter(std::chrono::seconds(5)));
  std::string reply;
  char buffer[4096];
  probes::Deadline deadline = probes::DeadlineAfter(std::chrono::seconds(10));
  for (;;) {
    auto ready = probes::WaitReadable(fd->get(), deadline);
    REQUIRE(ready);
    REQUIRE(*ready);
    ssize_t n = ::recv(fd->get(), buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  return reply;
}

TEST_CASE("metrics server on loopback: answers /metrics, refuses other paths and oversized headers") {
  MetricsPage page;
  page.Set(kPage);
  auto listen = probes::ParseHostPort("127.0.0.1:0", 0);
  REQUIRE(listen);
  auto server =
      MetricsServer::Start(*listen, page, {.read_timeout = std::chrono::milliseconds(300), .max_request_bytes = 1024});
  REQUIRE(server);
  const std::string address = (*server)->address();
  CHECK(address.starts_with("127.0.0.1:"));
  CHECK(address != "127.0.0.1:0");

  std::string ok = Exchange(address, "GET /metrics HTTP/1.0\r\nUser-Agent: test\r\n\r\n");
  CHECK(ok.starts_with("HTTP/1.0 200 OK\r\n"));
  CHECK(ok.ends_with(kPage));
  page.Set("fabricctl_monitor_passes_total 4\n");
  CHECK(Exchange(address, "GET /metrics HTTP/1.0\r\n\r\n").ends_with("\r\n\r\nfabricctl_monitor_passes_total 4\n"));
  CHECK(Exchange(address, "GET /debug HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404 Not Found\r\n"));
  std::string huge = "GET /metrics HTTP/1.0\r\nX-Filler: " + std::string(4000, 'a') + "\r\n\r\n";
  CHECK(Exchange(address, huge).starts_with("HTTP/1.0 431 Request Header Fields Too Large\r\n"));
  // Headers that never end: dropped at the size limit, not read forever.
  CHECK(Exchange(address, "GET /metrics HTTP/1.0\r\nX: " + std::string(2000, 'b')).starts_with("HTTP/1.0 431"));
  // A client that sends nothing is dropped after the read timeout, and the next is served.
  CHECK(Exchange(address, "GET /metrics HTTP/1.0\r\n").empty());
  CHECK(Exchange(address, "GET /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200 OK"));
  // Stopping joins the server's thread within its bounded waits.
  server->reset();
}

}  // namespace
}  // namespace fabricctl::sweep
