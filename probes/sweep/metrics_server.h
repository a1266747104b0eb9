#pragma once
// A tiny HTTP/1.0 server for Prometheus scrapes of the always-on monitor: GET (or HEAD)
// /metrics returns the latest metrics text; every other path is 404, other methods 405.
// Bounded on purpose: one connection at a time, one request per connection, the request
// line and headers limited in size (431 beyond) and in time (a request that has not arrived
// whole within the read timeout is dropped), the reply written within a deadline.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "fabric/error.h"
#include "probes/socket_util.h"

namespace fabricctl::sweep {

// The latest metrics text: set by the monitor's thread, read by the server's.
class MetricsPage {
 public:
  void Set(std::string text) {
    std::lock_guard lock(mu_);
    text_ = std::move(text);
  }
  std::string Get() const {
    std::lock_guard lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

struct MetricsServerOptions {
  std::chrono::milliseconds read_timeout{2000};  // the whole request must arrive within this
  std::chrono::milliseconds write_timeout{5000};
  size_t max_request_bytes = 8192;  // request line and headers
};

// The whole reply (status line, headers, body) to one complete request (through the blank
// line that ends its headers).
std::string MetricsReply(std::string_view request, const MetricsPage& page);

class MetricsServer {
 public:
  // Listens on `address` and serves `page` from a thread of its own until destroyed; `page`
  // must outlive the server.
  static Result<std::unique_ptr<MetricsServer>> Start(const probes::SocketAddress& address, const MetricsPage& page,
                                                      MetricsServerOptions options = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  // Where it listens ("127.0.0.1:9464"), with the port the system chose for port 0.
  const std::string& address() const { return address_; }

 private:
  MetricsServer(probes::Fd listener, const MetricsPage& page, MetricsServerOptions options, std::string address)
      : listener_(std::move(listener)), page_(page), options_(options), address_(std::move(address)) {}
  void Serve();
  void Answer(int fd);

  probes::Fd listener_;
  const MetricsPage& page_;
  MetricsServerOptions options_;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace fabricctl::sweep
