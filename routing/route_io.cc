#include "routing/route_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "fabric/display_text.h"
#include "fabric/file_io.h"
#include "routing/opensm_dump.h"
#include "routing/route_json.h"
#include "routing/route_set.h"
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
                            fmt::format("subnet '{}' has no LFTs in the route files", ShownValue(t.subnet)));
    if (auto ok = ApplyRawSlTable(fabric, t, where, *it); !ok) return ok;
  }
  return {};
}

Result<std::vector<RawLfts>> ParseDumps(const RouteSetListing& set) {
  std::vector<RawLfts> raws;
  for (const RouteSetEntry& entry : set.entries) {
    if (!entry.name.ends_with(".dump")) continue;
    auto text = ReadRouteSetFile(set, entry);
    if (!text) return std::unexpected(text.error());
    auto raw = ParseOpensmDump(*text, (fs::path(set.dir) / entry.name).string());
    if (!raw) return std::unexpected(raw.error());
    raws.push_back(std::move(*raw));
  }
  if (raws.empty()) return MakeInputError(set.manifest, 0, "the route set holds no routes.json and no *.dump file");
  return raws;
}

// The file names one WriteRoutes call writes, in the order it writes them.
std::vector<std::string> RouteFileNames(const Fabric& fabric, const RouteSet& routes,
                                        const RouteWriteOptions& options) {
  std::vector<std::string> names;
  if (options.json) names.push_back("routes.json");
  if (options.dump)
    for (const SubnetRoutes& r : routes.subnets) names.push_back(DumpFileName(fabric, r.subnet));
  for (const SubnetRoutes& r : routes.subnets)
    if (r.num_vls > 1) {
      names.push_back("sl-table.txt");
      break;
    }
  return names;
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
  auto writer = RouteSetWriter::Open(dir, RouteFileNames(fabric, routes, options));
  if (!writer) return std::unexpected(writer.error());
  using Sink = RouteSetWriter::Sink;
  if (options.json) {
    const std::string text = WriteRouteJson(fabric, routes);
    if (auto ok = writer->WriteFile("routes.json", [&](const Sink& sink) { sink(text); }); !ok) return ok;
  }
  if (options.dump)
    for (const SubnetRoutes& r : routes.subnets) {
      auto produce = [&](const Sink& sink) { WriteOpensmDump(fabric, r, fabric.subnets()[r.subnet].name, sink); };
      if (auto ok = writer->WriteFile(DumpFileName(fabric, r.subnet), produce); !ok) return ok;
    }
  std::vector<RawSlTable> sl;
  for (const SubnetRoutes& r : routes.subnets)
    if (r.num_vls > 1) sl.push_back(ToRawSlTable(fabric, fabric.subnets()[r.subnet], r));
  if (!sl.empty()) {
    const std::string text = WriteSlTable(sl);
    if (auto ok = writer->WriteFile("sl-table.txt", [&](const Sink& sink) { sink(text); }); !ok) return ok;
  }
  return writer->Commit();
}

namespace {

// What a route path holds before it is matched to a topology: routes.json (file or in a
// directory), or LFT dumps (a file, or every dump in a directory, plus its sl-table.txt).
struct RouteSource {
  std::vector<ParsedRouteSubnet> subnets;  // lfts always; engine, reason and sl from JSON only
  std::vector<RawSlTable> sl;              // from sl-table.txt next to dumps
  std::string sl_where;                    // the file the SL tables came from
};

Result<RouteSource> SourceFromJson(std::string_view text, const std::string& where) {
  auto parsed = ParseRouteJson(text, where);
  if (!parsed) return std::unexpected(parsed.error());
  RouteSource src{.subnets = std::move(*parsed), .sl_where = where};
  for (const ParsedRouteSubnet& p : src.subnets)
    if (p.sl) src.sl.push_back(*p.sl);
  return src;
}

// A directory is read only as the complete set its manifest names (route_set.h):
// routes.json when the set has one, else its dumps and its sl-table.txt.
Result<RouteSource> SourceFromDirectory(const std::string& dir) {
  auto set = OpenRouteSet(dir);
  if (!set) return std::unexpected(set.error());
  if (const RouteSetEntry* json = set->Find("routes.json")) {
    auto text = ReadRouteSetFile(*set, *json);
    if (!text) return std::unexpected(text.error());
    return SourceFromJson(*text, (fs::path(dir) / json->name).string());
  }
  auto raws = ParseDumps(*set);
  if (!raws) return std::unexpected(raws.error());
  RouteSource src;
  for (RawLfts& r : *raws) src.subnets.push_back(ParsedRouteSubnet{.lfts = std::move(r)});
  if (const RouteSetEntry* sl = set->Find("sl-table.txt")) {
    src.sl_where = (fs::path(dir) / sl->name).string();
    auto text = ReadRouteSetFile(*set, *sl);
    if (!text) return std::unexpected(text.error());
    auto tables = ParseSlTable(*text, src.sl_where);
    if (!tables) return std::unexpected(tables.error());
    src.sl = std::move(*tables);
  }
  return src;
}

Result<RouteSource> LoadRouteSource(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return SourceFromDirectory(path);
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  if (path.ends_with(".json")) return SourceFromJson(*text, path);
  auto raw = ParseOpensmDump(*text, path);
  if (!raw) return std::unexpected(raw.error());
  RouteSource src;
  src.subnets.push_back(ParsedRouteSubnet{.lfts = std::move(*raw)});
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
      if (fabric.subnets()[r.subnet].name == p.lfts.subnet && !p.engine.empty()) {
        r.engine = p.engine;
        r.reason = p.reason;
      }
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
