#pragma once
// One run's route files as one set: the manifest (routes.manifest) names every file a
// `route compute -o DIR` wrote, with its size and SHA-256, and is written last. A reader
// takes a directory only when its manifest is there, every file it lists is there with its
// size and checksum, and no other route file is; see docs/formats.md.
//
//   # fabricctl route-set v1
//   file 12345 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 routes.json
//   file 678 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752 opensm-lfts.dump
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"

namespace fabricctl {

inline constexpr std::string_view kRouteManifest = "routes.manifest";

struct RouteSetEntry {
  std::string name;    // file name inside the directory
  uint64_t size = 0;   // bytes
  std::string sha256;  // 64 lowercase hex digits
  int line = 0;        // in the manifest (0 for one being written)
};

std::string WriteRouteManifest(const std::vector<RouteSetEntry>& entries);
Result<std::vector<RouteSetEntry>> ParseRouteManifest(std::string_view text, std::string_view filename);

// Whether a file name in a route directory is a route file a reader could take:
// routes.json, sl-table.txt or *.dump.
bool IsRouteFileName(std::string_view name);

// Writes one set into a directory. Open() takes an exclusive lock on the directory (a second
// writer fails at once rather than interleaving), moves the old manifest aside first (from
// then on readers refuse the directory until Commit), then removes the temporary files a
// killed writer left and the files of the previous set that `names` (the new set) lacks.
// Each WriteFile goes to a temporary file named `.fabricctl-tmp.<pid>.<name>` and is
// renamed into place; Commit writes the manifest the same way, last, then drops the old one.
class RouteSetWriter {
 public:
  static Result<RouteSetWriter> Open(const std::string& dir, const std::vector<std::string>& names);
  RouteSetWriter(RouteSetWriter&& other) noexcept;
  RouteSetWriter& operator=(RouteSetWriter&&) = delete;
  ~RouteSetWriter();

  // `produce` hands the contents to its sink in pieces; a false return from the sink (a
  // failed write) asks it to stop.
  using Sink = std::function<bool(std::string_view)>;
  Result<void> WriteFile(const std::string& name, const std::function<void(const Sink&)>& produce);
  Result<void> Commit();

 private:
  RouteSetWriter(std::string dir, int dir_fd) : dir_(std::move(dir)), dir_fd_(dir_fd) {}
  std::string dir_;
  int dir_fd_ = -1;  // holds the lock
  std::vector<RouteSetEntry> written_;
};

// A directory's set as its manifest states it, checked against the directory: every file
// listed is there with its size, and no route file is there that the manifest does not list.
struct RouteSetListing {
  std::string dir;
  std::string manifest;  // its path, for messages
  std::vector<RouteSetEntry> entries;
  const RouteSetEntry* Find(std::string_view name) const;
};
Result<RouteSetListing> OpenRouteSet(const std::string& dir);
// The text of one file of the set, refused when its checksum differs from the manifest's.
Result<std::string> ReadRouteSetFile(const RouteSetListing& set, const RouteSetEntry& entry);

}  // namespace fabricctl
