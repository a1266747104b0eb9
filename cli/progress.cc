#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace fabricctl::cli {
namespace {

constexpr auto kTick = std::chrono::milliseconds(500);

}  // namespace

Progress::Progress(std::string_view command, ProgressWanted wanted)
    : command_(command), shown_(wanted == ProgressWanted::kYes && ::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Done(); }

void Progress::Show(const std::string& text) {
  // One write per line, so a line never interleaves with another thread's.
  std::string line = fmt::format("\r{}: {}\x1b[K", command_, text);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void Progress::Update(std::string_view text) {
  if (!shown_) return;
  StopTicker();
  std::lock_guard lock(mutex_);
  if (!done_) Show(std::string(text));
}

void Progress::Stage(std::string_view text) {
  if (!shown_) return;
  StopTicker();
  std::unique_lock lock(mutex_);
  if (done_) return;
  Show(std::string(text) + "...");
  ticking_ = true;
  ticker_ = std::thread([this, stage = std::string(text)] {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock held(mutex_);
    while (!wake_.wait_for(held, kTick, [this] { return !ticking_; })) {
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
      Show(fmt::format("{}... ({} s)", stage, seconds.count()));
    }
  });
}

void Progress::StopTicker() {
  {
    std::lock_guard lock(mutex_);
    ticking_ = false;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void Progress::Done() {
  if (!shown_) return;
  StopTicker();
  std::lock_guard lock(mutex_);
  if (done_) return;
  done_ = true;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
}

}  // namespace fabricctl::cli
