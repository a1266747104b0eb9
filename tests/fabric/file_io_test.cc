#include "fabric/file_io.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

using fabricctl::testing::ScratchDir;

size_t Entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST_CASE("ReadFile: missing file and directory are errors naming the path") {
  ScratchDir d;
  REQUIRE(!d.dir.empty());
  auto missing = ReadFile(d.dir + "/nope");
  REQUIRE(!missing);
  CHECK(missing.error().Format() == d.dir + "/nope: cannot open: No such file or directory");
  auto dir = ReadFile(d.dir);
  REQUIRE(!dir);
  CHECK(dir.error().Format() == d.dir + ": is a directory, expected a file");
}

TEST_CASE("WriteFileAtomic: a directory, a missing directory or /proc fail clearly and leave nothing behind") {
  ScratchDir d;
  REQUIRE(!d.dir.empty());
  auto into_dir = WriteFileAtomic(d.dir, "x");
  REQUIRE(!into_dir);
  CHECK(into_dir.error().Format() == d.dir + ": is a directory, expected a file name");
  auto slash = WriteFileAtomic(d.dir + "/new/", "x");
  REQUIRE(!slash);
  CHECK(slash.error().Format() == d.dir + "/new/: is a directory, expected a file name");
  auto no_dir = WriteFileAtomic(d.dir + "/no/such/f.topo", "x");
  REQUIRE(!no_dir);
  CHECK(no_dir.error().Format() ==
        d.dir + "/no/such/f.topo: cannot write into directory '" + d.dir + "/no/such': No such file or directory");
  auto file_as_dir = WriteFileAtomic(d.dir + "/f", "x");
  REQUIRE(file_as_dir);
  auto under_file = WriteFileAtomic(d.dir + "/f/g", "x");
  REQUIRE(!under_file);
  CHECK(under_file.error().Format() == d.dir + "/f/g: '" + d.dir + "/f' is not a directory");
  auto proc = WriteFileAtomic("/proc/x", "x");
  REQUIRE(!proc);
  CHECK(proc.error().Format().starts_with("/proc/x: cannot create a file in '/proc': "));
  CHECK(Entries(d.dir) == 1);  // only "f": no temporary file left
}

TEST_CASE("ReadTextFile: stops at the first NUL byte with its line; ReadFile reads it") {
  ScratchDir d;
  REQUIRE(!d.dir.empty());
  const std::string f = d.dir + "/bin";
  REQUIRE(WriteFileAtomic(f, std::string("a\nb\nc\0d\n", 8)));
  auto text = ReadTextFile(f);
  REQUIRE(!text);
  CHECK(text.error().Format() ==
        f + ":3: binary data (a NUL byte at offset 5): expected a text file; a compressed file "
            "must be uncompressed first");
  auto bytes = ReadFile(f);
  REQUIRE(bytes);
  CHECK(bytes->size() == 8);
  // An endless device fails at once instead of being read forever.
  auto zero = ReadTextFile("/dev/zero");
  REQUIRE(!zero);
  CHECK(zero.error().Format().starts_with("/dev/zero:1: binary data (a NUL byte at offset 0)"));
}

TEST_CASE("ReadTextFile: a FIFO nobody writes to is refused at once; one with a writer is read whole") {
  ScratchDir d;
  REQUIRE(!d.dir.empty());
  const std::string fifo = d.dir + "/pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto idle = ReadTextFile(fifo);  // waited forever for a writer before
  REQUIRE(!idle);
  CHECK(idle.error().Format() == fifo + ": is a FIFO that no process writes to; give a regular file");
  // A pipe with a writer (as `<(command)` gives): read until the writer closes it, whether
  // or not the data is there at the first read.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::thread writer([&] {
    (void)!::write(fds[1], "abc\n", 4);
    ::close(fds[1]);
  });
  auto piped = ReadTextFile("/proc/self/fd/" + std::to_string(fds[0]));
  writer.join();
  ::close(fds[0]);
  REQUIRE(piped);
  CHECK(*piped == "abc\n");
}

TEST_CASE("WriteFileAtomic: a FIFO (like /dev/null, not a regular file) is written in place, not replaced") {
  ScratchDir d;
  REQUIRE(!d.dir.empty());
  const std::string fifo = d.dir + "/pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Open the reading end first (non-blocking, so a writer that never comes cannot hang the
  // test); the small text then fits the pipe buffer.
  int rfd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(rfd >= 0);
  auto w = WriteFileAtomic(fifo, "through the pipe\n");
  char buf[64] = {};
  ssize_t n = ::read(rfd, buf, sizeof buf);
  ::close(rfd);
  std::string got = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  REQUIRE_MESSAGE(w, (w ? "" : w.error().Format()));
  CHECK(got == "through the pipe\n");
  struct stat st {};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK(Entries(d.dir) == 1);
}

TEST_CASE("WriteFileAtomic: replaces the file whole") {
  ScratchDir d;
  REQUIRE(!d.dir.empty());
  const std::string f = d.dir + "/out.topo";
  REQUIRE(WriteFileAtomic(f, "first version, longer\n"));
  REQUIRE(WriteFileAtomic(f, "second\n"));
  auto back = ReadFile(f);
  REQUIRE(back);
  CHECK(*back == "second\n");
  CHECK(Entries(d.dir) == 1);
  CHECK(CheckWritablePath("-"));
  CHECK(!CheckWritablePath(""));
}

}  // namespace
}  // namespace fabricctl
