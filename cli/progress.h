#pragma once
// Progress on stderr for commands that can run for seconds on a large fabric. Shown only
// when stderr is a terminal and the command was not asked for JSON or quiet, so pipes,
// logs, timers and scripts see nothing. One line, rewritten in place and cleared when the
// work ends; the results themselves go to stdout as usual.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace fabricctl::cli {

enum class ProgressWanted { kYes, kNo };

class Progress {
 public:
  // `command` prefixes every line ("route compute"). kNo (from --json or --quiet) keeps it
  // silent even on a terminal.
  Progress(std::string_view command, ProgressWanted wanted);
  ~Progress();  // clears the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Update may come from a library's worker thread; Stage and Done from the thread that
  // owns the Progress.
  bool shown() const { return shown_; }
  // Replaces the line with "command: text".
  void Update(std::string_view text);
  // A stage of unknown length (one library call that reports nothing while it runs): the
  // line says "command: text (N s)" and the seconds tick until the next Stage, Update or Done.
  void Stage(std::string_view text);
  // Clears the line; nothing more is shown.
  void Done();

 private:
  void StopTicker();
  void Show(const std::string& text);

  std::string command_;
  bool shown_ = false;
  bool done_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread ticker_;
  bool ticking_ = false;
};

}  // namespace fabricctl::cli
