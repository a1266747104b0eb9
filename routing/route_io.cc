#include "routing/route_io.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "fabric/file_io.h"
#include "routing/opensm_dump.h"
#include "routing/route_json.h"
#include "routing/sl_table.h"

namespace fabricctl {
namespace {

namespace fs = std::filesystem;

Result<void> ApplySlTables(const Fabric& fabric, const std::vector<RawSlTable>& tables, std::string_view where,
                           RouteSet& rs) {
  for (const RawSlTable& t : tables) {
    auto it = std::find_if(rs.subnets.begin(), rs.subnets.end(),
                           [&](const SubnetRoutes& r) { return fabric.subnets()[r.subnet].name == t.subnet; });
    if (it == rs.subnets.end())
      return MakeInputError(std::string(where), t.line,
                            fmt::format("subnet '{}' has no LFTs in the route files", t.subnet));
    if (auto ok = ApplyRawSlTable(fabric, t, where, *it); !ok) return ok;
  }
  return {};
}

Result<std::vector<std::string>> DumpFilesIn(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".dump") files.push_back(entry.path().string());
  if (ec) return std::unexpected(Error{.message = "cannot list directory: " + ec.message(), .where = dir});
  std::sort(files.begin(), files.end());
  if (files.empty()) return std::unexpected(Error{.message = "no routes.json and no *.dump file", .where = dir});
  return files;
}

Result<std::vector<RawLfts>> ParseDumps(const std::vector<std::string>& files) {
  std::vector<RawLfts> raws;
  for (const std::string& f : files) {
    auto text = ReadTextFile(f);
    if (!text) return std::unexpected(text.error());
    auto raw = ParseOpensmDump(*text, f);
    if (!raw) return std::unexpected(raw.error());
    raws.push_back(std::move(*raw));
  }
  return raws;
}

// Atomic like WriteFileAtomic, but fed in chunks: temp file in the same directory, fsync, rename.
Result<void> WriteDumpAtomic(const std::string& path, const Fabric& fabric, const SubnetRoutes& r) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return std::unexpected(Error{.message = std::string("cannot create: ") + std::strerror(errno), .where = tmp});
  bool ok = true;
  WriteOpensmDump(fabric, r, fabric.subnets()[r.subnet].name, [&](std::string_view chunk) {
    ok = std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size();
    return ok;
  });
  int saved = errno;
  if (ok && (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0)) ok = false, saved = errno;
  if (std::fclose(f) != 0) ok = false;
  if (!ok) {
    std::remove(tmp.c_str());
    return std::unexpected(Error{.message = std::string("write failed: ") + std::strerror(saved), .where = path});
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return std::unexpected(
        Error{.message = std::string("cannot rename into place: ") + std::strerror(errno), .where = path});
  }
  return {};
}

}  // namespace

std::string DumpFileName(const Fabric& fabric, SubnetId subnet) {
  if (fabric.subnets().size() == 1) return "opensm-lfts.dump";
  std::string name = fabric.subnets()[subnet].name;
  std::replace(name.begin(), name.end(), '/', '_');
  std::replace(name.begin(), name.end(), '#', '_');
  return "opensm-lfts." + name + ".dump";
}

Result<void> WriteRoutes(const Fabric& fabric, const RouteSet& routes, const std::string& dir) {
  return WriteRoutes(fabric, routes, dir, RouteWriteOptions{});
}

Result<void> WriteRoutes(const Fabric& fabric, const RouteSet& routes, const std::string& dir,
                         const RouteWriteOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::unexpected(Error{.message = "cannot create directory: " + ec.message(), .where = dir});
  if (options.json)
    if (auto ok = WriteFileAtomic((fs::path(dir) / "routes.json").string(), WriteRouteJson(fabric, routes)); !ok)
      return ok;
  if (options.dump)
    for (const SubnetRoutes& r : routes.subnets) {
      std::string path = (fs::path(dir) / DumpFileName(fabric, r.subnet)).string();
      if (auto ok = WriteDumpAtomic(path, fabric, r); !ok) return ok;
    }
  std::vector<RawSlTable> sl;
  for (const SubnetRoutes& r : routes.subnets)
    if (r.num_vls > 1) sl.push_back(ToRawSlTable(fabric, fabric.subnets()[r.subnet], r));
  if (!sl.empty())
    if (auto ok = WriteFileAtomic((fs::path(dir) / "sl-table.txt").string(), WriteSlTable(sl)); !ok) return ok;
  return {};
}

namespace {

// What a route path holds before it is matched to a topology: routes.json (file or in a
// directory), or LFT dumps (a file, or every dump in a directory, plus its sl-table.txt).
struct RouteSource {
  std::vector<ParsedRouteSubnet> subnets;  // lfts always; engine, reason and sl from JSON only
  std::vector<RawSlTable> sl;              // from sl-table.txt next to dumps
  std::string sl_where;                    // the file the SL tables came from
};

Result<RouteSource> LoadRouteSource(const std::string& path) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  std::string json_path = is_dir ? (fs::path(path) / "routes.json").string() : path;
  RouteSource src;
  if ((is_dir && fs::exists(json_path, ec)) || (!is_dir && path.ends_with(".json"))) {
    auto text = ReadTextFile(json_path);
    if (!text) return std::unexpected(text.error());
    auto parsed = ParseRouteJson(*text, json_path);
    if (!parsed) return std::unexpected(parsed.error());
    src.subnets = std::move(*parsed);
    for (const ParsedRouteSubnet& p : src.subnets)
      if (p.sl) src.sl.push_back(*p.sl);
    src.sl_where = json_path;
    return src;
  }
  std::vector<std::string> files{path};
  if (is_dir) {
    auto found = DumpFilesIn(path);
    if (!found) return std::unexpected(found.error());
    files = std::move(*found);
  }
  auto raws = ParseDumps(files);
  if (!raws) return std::unexpected(raws.error());
  for (RawLfts& r : *raws) src.subnets.push_back(ParsedRouteSubnet{.lfts = std::move(r)});
  if (is_dir) {
    src.sl_where = (fs::path(path) / "sl-table.txt").string();
    if (fs::exists(src.sl_where, ec)) {
      auto text = ReadTextFile(src.sl_where);
      if (!text) return std::unexpected(text.error());
      auto tables = ParseSlTable(*text, src.sl_where);
      if (!tables) return std::unexpected(tables.error());
      src.sl = std::move(*tables);
    }
  }
  return src;
}

}  // namespace

Result<RouteSet> ReadRoutes(const Fabric& fabric, const std::string& path) {
  auto src = LoadRouteSource(path);
  if (!src) return std::unexpected(src.error());
  std::vector<RawLfts> raws;
  for (const ParsedRouteSubnet& p : src->subnets) raws.push_back(p.lfts);
  auto rs = ResolveRawLfts(fabric, raws);
  if (!rs) return rs;
  for (const ParsedRouteSubnet& p : src->subnets)
    for (SubnetRoutes& r : rs->subnets)
      if (fabric.subnets()[r.subnet].name == p.lfts.subnet && !p.engine.empty())
        r.engine = p.engine, r.reason = p.reason;
  if (!src->sl.empty())
    if (auto ok = ApplySlTables(fabric, src->sl, src->sl_where, *rs); !ok) return std::unexpected(ok.error());
  return rs;
}

Result<std::vector<RawLfts>> ReadRawLfts(const std::string& path) {
  auto src = LoadRouteSource(path);
  if (!src) return std::unexpected(src.error());
  std::vector<RawLfts> raws;
  for (ParsedRouteSubnet& p : src->subnets) raws.push_back(std::move(p.lfts));
  return raws;
}

}  // namespace fabricctl
