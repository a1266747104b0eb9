#include "routing/route_set.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <utility>

#include "fabric/display_text.h"
#include "fabric/file_io.h"
#include "fabric/text_lines.h"

namespace fabricctl {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHeader = "# fabricctl route-set v1";
constexpr std::string_view kTempPrefix = ".fabricctl-tmp.";
// The manifest of the set being replaced, kept until the new one is committed: a writer
// killed before that leaves it for the next one, which removes that set's files.
constexpr std::string_view kPreviousManifest = ".fabricctl-previous.routes.manifest";

std::unexpected<Error> SysError(const std::string& path, std::string_view what) {
  return std::unexpected(Error{.message = fmt::format("{}: {}", what, std::strerror(errno)), .where = path});
}

// SHA-256 through OpenSSL's EVP interface, fed in pieces.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void Update(std::string_view data) { EVP_DigestUpdate(ctx_.get(), data.data(), data.size()); }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &length);
    std::string out;
    for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

bool IsHexDigest(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A name the manifest may list: a plain file name in the directory, printable.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string_view::npos &&
         PrintableText(name) == name && name.find('\t') == std::string_view::npos;
}

// Temporary files of writers: ours (`.fabricctl-tmp.<pid>.<name>`) and those of earlier
// versions (`opensm-lfts.dump.tmp`, `.routes.json.tmpXXXXXX`).
bool IsWriterTempName(std::string_view name) {
  if (name.starts_with(kTempPrefix)) return true;
  if (name.ends_with(".dump.tmp")) return true;
  if (!name.starts_with('.')) return false;
  const size_t tmp = name.rfind(".tmp");
  return tmp != std::string_view::npos && name.size() == tmp + 10 && IsRouteFileName(name.substr(1, tmp - 1));
}

Result<void> WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError(path, "cannot write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> RemoveIfThere(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return SysError(path, "cannot remove");
  return {};
}

Result<std::vector<std::string>> FileNamesIn(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) names.push_back(entry.path().filename().string());
  if (ec) return std::unexpected(Error{.message = "cannot list directory: " + ec.message(), .where = dir});
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool IsRouteFileName(std::string_view name) {
  if (name.starts_with('.')) return false;
  return name == "routes.json" || name == "sl-table.txt" || (name.size() > 5 && name.ends_with(".dump"));
}

std::string WriteRouteManifest(const std::vector<RouteSetEntry>& entries) {
  std::string out = std::string(kHeader) + "\n";
  for (const RouteSetEntry& e : entries) out += fmt::format("file {} {} {}\n", e.size, e.sha256, e.name);
  return out;
}

Result<std::vector<RouteSetEntry>> ParseRouteManifest(std::string_view text, std::string_view filename) {
  std::vector<RouteSetEntry> entries;
  std::set<std::string, std::less<>> names;
  TextLines lines(text);
  if (!lines.Next() || lines.line() != kHeader)
    return MakeInputError(std::string(filename), 1, fmt::format("expected the header '{}'", kHeader),
                          std::string(lines.line()));
  while (lines.Next()) {
    const std::string_view line = lines.line();
    auto error = [&](std::string message) {
      return MakeInputError(std::string(filename), lines.number(), std::move(message), std::string(line));
    };
    if (line.empty() || line.front() == '#') continue;
    // "file SIZE SHA256 NAME": the name last, so it may hold spaces.
    RouteSetEntry e{.line = lines.number()};
    const size_t size_end = line.find(' ', 5);
    const size_t sha_end = size_end == std::string_view::npos ? size_end : line.find(' ', size_end + 1);
    if (!line.starts_with("file ") || sha_end == std::string_view::npos)
      return error("expected 'file SIZE SHA256 NAME'");
    const std::string_view size = line.substr(5, size_end - 5);
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), e.size);
    if (size.empty() || ec != std::errc() || end != size.data() + size.size())
      return error(fmt::format("size '{}' is not a byte count", ShownValue(size)));
    e.sha256 = std::string(line.substr(size_end + 1, sha_end - size_end - 1));
    if (!IsHexDigest(e.sha256)) return error("expected a SHA-256 of 64 lowercase hex digits");
    e.name = std::string(line.substr(sha_end + 1));
    if (!IsPlainFileName(e.name)) return error(fmt::format("'{}' is not a file name", ShownValue(e.name)));
    if (!names.insert(e.name).second) return error(fmt::format("'{}' is listed twice", ShownValue(e.name)));
    entries.push_back(std::move(e));
  }
  return entries;
}

// ---------------------------------------------------------------------------------------
// Writing

Result<RouteSetWriter> RouteSetWriter::Open(const std::string& dir, const std::vector<std::string>& names) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::unexpected(Error{.message = "cannot create directory: " + ec.message(), .where = dir});
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError(dir, "cannot open directory");
  RouteSetWriter writer(dir, fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return std::unexpected(Error{.message = errno == EWOULDBLOCK
                                                ? "another fabricctl is writing route files into this directory"
                                                : fmt::format("cannot lock the directory: {}", std::strerror(errno)),
                                 .where = dir});
  // The old manifest goes first: from here until Commit the directory holds no complete set.
  const std::string manifest = (fs::path(dir) / kRouteManifest).string();
  const std::string previous = (fs::path(dir) / kPreviousManifest).string();
  if (::rename(manifest.c_str(), previous.c_str()) != 0 && errno != ENOENT)
    return SysError(manifest, "cannot move the old manifest aside");
  ::fsync(fd);
  // Files of the previous set that this one does not write; files the previous set did not
  // list (put there by hand) stay, and readers refuse the directory until they are removed.
  std::vector<std::string> stale;
  if (auto text = ReadTextFile(previous))
    if (auto entries = ParseRouteManifest(*text, previous))
      for (const RouteSetEntry& e : *entries)
        if (std::find(names.begin(), names.end(), e.name) == names.end()) stale.push_back(e.name);
  auto present = FileNamesIn(dir);
  if (!present) return std::unexpected(present.error());
  for (const std::string& name : *present)
    if (IsWriterTempName(name) || std::find(stale.begin(), stale.end(), name) != stale.end())
      if (auto ok = RemoveIfThere((fs::path(dir) / name).string()); !ok) return std::unexpected(ok.error());
  return writer;
}

RouteSetWriter::RouteSetWriter(RouteSetWriter&& other) noexcept
    : dir_(std::move(other.dir_)), dir_fd_(std::exchange(other.dir_fd_, -1)), written_(std::move(other.written_)) {}

RouteSetWriter::~RouteSetWriter() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<void> RouteSetWriter::WriteFile(const std::string& name, const std::function<void(const Sink&)>& produce) {
  const std::string path = (fs::path(dir_) / name).string();
  const std::string tmp = (fs::path(dir_) / fmt::format("{}{}.{}", kTempPrefix, ::getpid(), name)).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return SysError(tmp, "cannot create");
  Sha256 sha;
  RouteSetEntry entry{.name = name};
  Result<void> written;
  produce([&](std::string_view chunk) {
    written = WriteAll(fd, chunk, path);
    sha.Update(chunk);
    entry.size += chunk.size();
    return written.has_value();
  });
  if (written && ::fsync(fd) != 0) written = SysError(path, "cannot write");
  if (::close(fd) != 0 && written) written = SysError(path, "cannot write");
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = SysError(path, "cannot rename the temporary file into place");
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  entry.sha256 = sha.HexDigest();
  written_.push_back(std::move(entry));
  return {};
}

Result<void> RouteSetWriter::Commit() {
  // The files' renames reach the disk before the manifest that vouches for them.
  ::fsync(dir_fd_);
  const std::string manifest = WriteRouteManifest(written_);
  const std::string name(kRouteManifest);
  if (auto ok = WriteFile(name, [&](const Sink& sink) { sink(manifest); }); !ok) return ok;
  written_.pop_back();
  if (auto ok = RemoveIfThere((fs::path(dir_) / kPreviousManifest).string()); !ok) return ok;
  if (::fsync(dir_fd_) != 0) return SysError(dir_, "cannot sync the directory");
  return {};
}

// ---------------------------------------------------------------------------------------
// Reading

const RouteSetEntry* RouteSetListing::Find(std::string_view name) const {
  for (const RouteSetEntry& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

Result<RouteSetListing> OpenRouteSet(const std::string& dir) {
  RouteSetListing set{.dir = dir, .manifest = (fs::path(dir) / kRouteManifest).string()};
  struct stat st {};
  if (::stat(set.manifest.c_str(), &st) != 0 && errno == ENOENT)
    return MakeInputError(dir, 0,
                          fmt::format("no {}: not a complete route set (a `route compute -o` was interrupted or is "
                                      "still writing, or the files were put here by hand); re-run it, or name a "
                                      "route file directly",
                                      kRouteManifest));
  auto text = ReadTextFile(set.manifest);
  if (!text) return std::unexpected(text.error());
  auto entries = ParseRouteManifest(*text, set.manifest);
  if (!entries) return std::unexpected(entries.error());
  set.entries = std::move(*entries);
  for (const RouteSetEntry& e : set.entries) {
    const std::string path = (fs::path(dir) / e.name).string();
    if (::stat(path.c_str(), &st) != 0)
      return MakeInputError(path, 0,
                            fmt::format("listed in {}:{} but {}: the route set is incomplete", set.manifest, e.line,
                                        errno == ENOENT ? "missing" : std::strerror(errno)));
    if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != e.size)
      return MakeInputError(path, 0,
                            fmt::format("{} bytes, but {}:{} says {}: cut short or replaced after the set was written",
                                        st.st_size, set.manifest, e.line, e.size));
  }
  auto present = FileNamesIn(dir);
  if (!present) return std::unexpected(present.error());
  for (const std::string& name : *present)
    if (IsRouteFileName(name) && !set.Find(name))
      return MakeInputError((fs::path(dir) / name).string(), 0,
                            fmt::format("not in {}: the directory mixes route files of different runs; remove the "
                                        "file, or name the one you mean directly",
                                        set.manifest));
  return set;
}

Result<std::string> ReadRouteSetFile(const RouteSetListing& set, const RouteSetEntry& entry) {
  const std::string path = (fs::path(set.dir) / entry.name).string();
  auto text = ReadTextFile(path);
  if (!text) return text;
  Sha256 sha;
  sha.Update(*text);
  if (text->size() != entry.size || sha.HexDigest() != entry.sha256)
    return MakeInputError(path, 0,
                          fmt::format("checksum differs from {}:{}: the file changed after the set was written",
                                      set.manifest, entry.line));
  return text;
}

}  // namespace fabricctl
