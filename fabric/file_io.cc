#include "fabric/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fabricctl {
namespace {

std::unexpected<Error> SysError(const std::string& path, std::string_view what) {
  return std::unexpected(Error{.message = std::string(what) + ": " + std::strerror(errno), .where = path});
}

}  // namespace

Result<void> CheckWritablePath(const std::string& path) {
  if (path == "-") return {};
  if (path.empty()) return MakeError("empty output file name");
  struct stat st {};
  // Caught before the data is produced and written, rather than by rename() after it.
  if (path.back() == '/' || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
    return MakeInputError(path, 0, "is a directory, expected a file name");
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  if (::stat(dir.c_str(), &st) != 0)
    return SysError(path, fmt::format("cannot write into directory '{}'", dir.string()));
  if (!S_ISDIR(st.st_mode)) return MakeInputError(path, 0, fmt::format("'{}' is not a directory", dir.string()));
  return {};
}

namespace {

enum class Content { kAny, kText };

// Clears O_NONBLOCK after the first read: the file was opened non-blocking only so that
// opening a FIFO nobody writes to cannot wait forever.
void MakeBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK)) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

Result<std::string> Read(const std::string& path, Content content) {
  if (path == "-" && content == Content::kAny) {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  const bool is_stdin = path == "-";
  // Non-blocking open: opening a FIFO that no process writes to would otherwise wait forever.
  int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return SysError(path, "cannot open");
  auto close_fd = [&] {
    if (!is_stdin) ::close(fd);
  };
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close_fd();
    return MakeInputError(path, 0, "is a directory, expected a file");
  }
  std::string out;
  char buf[1 << 16];
  for (bool first = true;; first = false) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (first) MakeBlocking(fd);
    // A FIFO read before any process writes to it: end of file at once when none has it
    // open (refused, not waited for), EAGAIN when one does (then read on, blocking).
    if (first && n == 0 && S_ISFIFO(st.st_mode) && !is_stdin) {
      close_fd();
      return MakeInputError(path, 0, "is a FIFO that no process writes to; give a regular file");
    }
    if (n < 0) {
      if (errno == EINTR || (first && errno == EAGAIN)) continue;
      auto err = SysError(path, "cannot read");
      close_fd();
      return err;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    // No text format holds a NUL byte: stop at once on a binary or compressed file, or on
    // /dev/zero or /dev/urandom, rather than reading it whole (or forever).
    if (content == Content::kText)
      if (const void* nul = std::memchr(buf, '\0', static_cast<size_t>(n))) {
        close_fd();
        size_t at = out.size() - static_cast<size_t>(n) + static_cast<size_t>(static_cast<const char*>(nul) - buf);
        int line = 1 + static_cast<int>(std::count(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        return MakeInputError(path, line,
                              fmt::format("binary data (a NUL byte at offset {}): expected a text file; a compressed "
                                          "file must be uncompressed first",
                                          at));
      }
  }
  close_fd();
  return out;
}

Result<void> WriteAll(int fd, std::string_view contents, const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError(path, "cannot write");
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) { return Read(path, Content::kAny); }

Result<std::string> ReadTextFile(const std::string& path) { return Read(path, Content::kText); }

Result<void> WriteFileAtomic(const std::string& path, std::string_view contents) {
  if (path == "-") {
    std::cout.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    std::cout.flush();
    if (!std::cout) return MakeError("cannot write to standard output");
    return {};
  }
  if (auto ok = CheckWritablePath(path); !ok) return ok;
  // A device or FIFO (-o /dev/null, a named pipe) is written in place: renaming a temporary
  // file over it would replace /dev/null itself with a regular file when run as root.
  if (struct stat st{}; ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return SysError(path, "cannot open for writing");
    if (auto w = WriteAll(fd, contents, path); !w) {
      ::close(fd);
      return w;
    }
    if (::close(fd) != 0) return SysError(path, "cannot write");
    return {};
  }
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmpXXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return SysError(path, fmt::format("cannot create a file in '{}'", dir.string()));
  if (auto w = WriteAll(fd, contents, path); !w) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    return w;
  }
  ::fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    auto err = SysError(path, "cannot write");
    ::unlink(tmpl.c_str());
    return err;
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    auto err = SysError(path, "cannot rename temporary file into place");
    ::unlink(tmpl.c_str());
    return err;
  }
  return {};
}

}  // namespace fabricctl
