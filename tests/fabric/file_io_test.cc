#include "fabric/file_io.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace fabricctl {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "fabricctl-file-io-XXXXXX").string();
    path = ::mkdtemp(t.data()) ? t : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

size_t Entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST_CASE("ReadFile: missing file and directory are errors naming the path") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto missing = ReadFile(d.path + "/nope");
  REQUIRE(!missing);
  CHECK(missing.error().Format() == d.path + "/nope: cannot open: No such file or directory");
  auto dir = ReadFile(d.path);
  REQUIRE(!dir);
  CHECK(dir.error().Format() == d.path + ": is a directory, expected a file");
}

TEST_CASE("WriteFileAtomic: a directory, a missing directory or /proc fail clearly and leave nothing behind") {
  TempDir d;
  REQUIRE(!d.path.empty());
  auto into_dir = WriteFileAtomic(d.path, "x");
  REQUIRE(!into_dir);
  CHECK(into_dir.error().Format() == d.path + ": is a directory, expected a file name");
  auto slash = WriteFileAtomic(d.path + "/new/", "x");
  REQUIRE(!slash);
  CHECK(slash.error().Format() == d.path + "/new/: is a directory, expected a file name");
  auto no_dir = WriteFileAtomic(d.path + "/no/such/f.topo", "x");
  REQUIRE(!no_dir);
  CHECK(no_dir.error().Format() ==
        d.path + "/no/such/f.topo: cannot write into directory '" + d.path + "/no/such': No such file or directory");
  auto file_as_dir = WriteFileAtomic(d.path + "/f", "x");
  REQUIRE(file_as_dir);
  auto under_file = WriteFileAtomic(d.path + "/f/g", "x");
  REQUIRE(!under_file);
  CHECK(under_file.error().Format() == d.path + "/f/g: '" + d.path + "/f' is not a directory");
  auto proc = WriteFileAtomic("/proc/x", "x");
  REQUIRE(!proc);
  CHECK(proc.error().Format().starts_with("/proc/x: cannot create a file in '/proc': "));
  CHECK(Entries(d.path) == 1);  // only "f": no temporary file left
}

TEST_CASE("WriteFileAtomic: replaces the file whole") {
  TempDir d;
  REQUIRE(!d.path.empty());
  const std::string f = d.path + "/out.topo";
  REQUIRE(WriteFileAtomic(f, "first version, longer\n"));
  REQUIRE(WriteFileAtomic(f, "second\n"));
  auto back = ReadFile(f);
  REQUIRE(back);
  CHECK(*back == "second\n");
  CHECK(Entries(d.path) == 1);
  CHECK(CheckWritablePath("-"));
  CHECK(!CheckWritablePath(""));
}

}  // namespace
}  // namespace fabricctl
