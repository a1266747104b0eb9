#pragma once
// The route manager's event log: one JSON object per line, appended and flushed as each
// event happens, so `tail -f` and log shippers see every change as it is handled. Each
// event carries "time" (UTC, ISO 8601 with milliseconds) and "event" (its kind); the
// fields of each kind are listed in docs/manage.md.
#include <nlohmann/json.hpp>
#include <string>

#include "fabric/error.h"

namespace fabricctl {

class EventLog {
 public:
  // An empty path gives a log that keeps nothing (events still reach the caller's sink).
  static Result<EventLog> Open(const std::string& path);
  EventLog(EventLog&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }
  EventLog& operator=(EventLog&&) = delete;
  ~EventLog();

  // Adds "time" when the event has none and appends it as one line.
  Result<void> Write(nlohmann::json event);
  const std::string& path() const { return path_; }

 private:
  EventLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// "2026-01-02T03:04:05.678Z" for the wall clock now.
std::string UtcTimestamp();

}  // namespace fabricctl
