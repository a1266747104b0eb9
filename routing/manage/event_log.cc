#include "routing/manage/event_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace fabricctl {

Result<EventLog> EventLog::Open(const std::string& path) {
  if (path.empty()) return EventLog("", -1);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(Error{.message = std::strerror(errno), .where = path});
  return EventLog(path, fd);
}

EventLog::~EventLog() {
  if (fd_ >= 0) close(fd_);
}

Result<void> EventLog::Write(nlohmann::json event) {
  if (fd_ < 0) return {};
  if (!event.contains("time")) event["time"] = UtcTimestamp();
  // One write per line: O_APPEND keeps lines whole even with a second writer.
  std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::unexpected(Error{.message = std::strerror(errno), .where = path_});
    done += static_cast<size_t>(n);
  }
  return {};
}

std::string UtcTimestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace fabricctl
