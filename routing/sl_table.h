#pragma once
// The per-pair SL table of multi-VL routes (dfsssp layers, torus datelines): the SL of
// every (source endpoint, destination LID) pair, the SL->VL map endpoints inject with,
// and the switches' SL->VL maps (a default plus the (switch, in, out) triples that
// differ). Text (sl-table.txt) and its JSON twin inside routes.json; docs/formats.md.
//
//   # fabricctl sl-table v1
//   subnet scale-up/sn0 vls 2 lids 0x10
//   endpoint-sl2vl 0101010101010101
//   sl2vl-default 0123456789abcdef
//   sl2vl 0x0000000000001000 1 2 1111111111111111
//   src 0x0002 -010...        one hex digit per destination LID from 0, '-' for none
//   end
#include <array>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

struct RawSlTable {
  std::string subnet;
  uint8_t vls = 1;
  size_t num_lids = 0;
  std::array<uint8_t, 16> endpoint_sl2vl{};
  std::array<uint8_t, 16> sl2vl_default{};
  struct Sl2vl {
    uint64_t switch_guid;
    uint8_t in, out;
    std::array<uint8_t, 16> vl;
    int line;
  };
  std::vector<Sl2vl> sl2vl;
  struct Row {
    Lid src;
    std::string sl;  // one hex digit per destination LID, '-' for none
    int line;
  };
  std::vector<Row> rows;
  int line = 0;  // the `subnet` line
};

// The SL data of one subnet routed with more than one VL.
RawSlTable ToRawSlTable(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes);
// Sets num_vls, pair_sl, endpoint_sl2vl and sl2vl of `routes` (LFTs and LIDs already set).
Result<void> ApplyRawSlTable(const Fabric& fabric, const RawSlTable& raw, std::string_view where, SubnetRoutes& routes);

std::string WriteSlTable(const std::vector<RawSlTable>& tables);
Result<std::vector<RawSlTable>> ParseSlTable(std::string_view text, std::string_view filename);

// "0123456789abcdef" <-> 16 values.
std::string Sl2vlText(const std::array<uint8_t, 16>& vl);
bool ParseSl2vlText(std::string_view text, std::array<uint8_t, 16>& vl);

}  // namespace fabricctl
