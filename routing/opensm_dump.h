#pragma once
// The OpenSM unicast LFT dump (opensm-lfts.dump): the text infiniband-diags' dump_fts
// prints and OpenSM's `file` routing engine loads (-R file -U FILE). Written in dump_fts'
// layout; read in that layout and in the one OpenSM writes itself. docs/formats.md.
//
//   Unicast lids [0x0-0x8] of switch Lid 1 guid 0x0000000000001000 (leaf0):
//     Lid  Out   Destination
//          Port     Info
//   0x0001 000 : (Switch portguid 0x0000000000001000: 'leaf0')
//   0x0002 001 : (Channel Adapter portguid 0x0000000000010000: 'h0')
//   2 valid lids dumped
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

// Route tables as a file states them, before matching them to a topology: what
// `route diff` compares and what ReadRoutes resolves.
struct RawSwitchLft {
  uint64_t guid = 0;
  Lid lid = 0;  // the switch's own LID as the header states it (0 if absent)
  std::string description;
  int line = 0;                 // header line
  std::vector<uint8_t> lft;     // by LID; kNoRoute where the file has no entry
  std::vector<uint32_t> lines;  // by LID: line of the entry (0 if none); empty when not tracked
};
struct RawLidOwner {
  uint64_t port_guid = 0;  // the dump names ports by port GUID
  uint64_t node_guid = 0;  // the JSON table by node GUID and port number
  int port_number = -1;
  int line = 0;
};
struct RawLfts {
  std::string where;   // file name for messages
  std::string subnet;  // subnet name when the file states it
  std::vector<RawSwitchLft> switches;
  std::map<Lid, RawLidOwner> owners;  // LIDs whose entries name the destination port GUID
};

// One subnet's tables in dump_fts' layout (with a leading `#` line OpenSM skips; for routes
// on several VLs it says that the file holds only the LFTs, see CheckOpensmHandOff).
std::string WriteOpensmDump(const Fabric& fabric, const SubnetRoutes& routes, std::string_view subnet_name);
// The same text handed to `sink` a switch section at a time (big subnets: gigabytes).
void WriteOpensmDump(const Fabric& fabric, const SubnetRoutes& routes, std::string_view subnet_name,
                     const std::function<bool(std::string_view)>& sink);
// Strict: anything but the lines above, `#` comments and blank lines is an error naming
// the line; so are a bad LID or port, a repeated LID or switch, and a trailer count that
// does not match the entries.
Result<RawLfts> ParseOpensmDump(std::string_view text, std::string_view filename);

// What the `#` line WriteOpensmDump puts first states about the routes; nullopt for any
// other first line (a dump of another tool).
struct DumpHeader {
  std::string subnet, engine;
  unsigned vls = 1;
};
std::optional<DumpHeader> ParseDumpHeader(std::string_view first_line);

// OpenSM's `file` routing engine loads LFTs only: it has no place for the per-pair SLs and
// SL->VL tables that keep routes on several VLs (dfsssp layers, torus datelines, escape)
// free of credit loops, so on OpenSM those routes would all run on one VL and can deadlock.
// An error naming every such subnet (engine, VLs) and what to do instead; ok when every
// subnet needs one VL. `stated`: the headers of the dumps the routes were read from, which
// tell a dump of multi-VL routes read without its sl-table.txt.
Result<void> CheckOpensmHandOff(const Fabric& fabric, const RouteSet& routes,
                                const std::vector<DumpHeader>& stated = {});

// Matches raw tables to the topology by switch GUID and, for the LIDs, by the port GUIDs
// the entries name (falling back to the topology's own LIDs, then to AssignLids when
// the file names none). One SubnetRoutes per subnet that has a switch in the file.
Result<RouteSet> ResolveRawLfts(const Fabric& fabric, const std::vector<RawLfts>& files);

}  // namespace fabricctl
