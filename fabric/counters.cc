#include "fabric/counters.h"

#include <fmt/format.h>
#include <infiniband/mad.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>

#include "fabric/display_text.h"
#include "fabric/edit_distance.h"
#include "fabric/text_lines.h"

namespace fabricctl {
namespace {

constexpr std::array<std::string_view, kNumCounters> kNames = {
    "SymbolErrorCounter",
    "LinkErrorRecoveryCounter",
    "LinkDownedCounter",
    "PortRcvErrors",
    "PortRcvRemotePhysicalErrors",
    "PortRcvSwitchRelayErrors",
    "PortXmitDiscards",
    "PortXmitConstraintErrors",
    "PortRcvConstraintErrors",
    "LocalLinkIntegrityErrors",
    "ExcessiveBufferOverrunErrors",
    "VL15Dropped",
    "PortXmitWait",
    "PortXmitData",
    "PortRcvData",
    "PortXmitPkts",
    "PortRcvPkts",
};

// libibmad fields of PortCounters, in Counter order.
constexpr std::array<MAD_FIELDS, kNumCounters> kFields = {
    IB_PC_ERR_SYM_F,        IB_PC_LINK_RECOVERS_F, IB_PC_LINK_DOWNED_F,   IB_PC_ERR_RCV_F,       IB_PC_ERR_PHYSRCV_F,
    IB_PC_ERR_SWITCH_REL_F, IB_PC_XMT_DISCARDS_F,  IB_PC_ERR_XMTCONSTR_F, IB_PC_ERR_RCVCONSTR_F, IB_PC_ERR_LOCALINTEG_F,
    IB_PC_ERR_EXCESS_OVR_F, IB_PC_VL15_DROPPED_F,  IB_PC_XMT_WAIT_F,      IB_PC_XMT_BYTES_F,     IB_PC_RCV_BYTES_F,
    IB_PC_XMT_PKTS_F,       IB_PC_RCV_PKTS_F,
};

// ClassPortInfo.CapabilityMask bits of the PMA (IBA 16.1.3.1).
constexpr uint32_t kCapExtendedWidth = 1u << 9;
constexpr uint32_t kCapExtendedNoIetf = 1u << 10;

mad::Request PmaRequest(mad::Method method, uint16_t attr_id, uint32_t lid, unsigned port) {
  mad::Request r{.mgmt_class = mad::MgmtClass::kPerformance,
                 .method = method,
                 .attr_id = attr_id,
                 .lid = static_cast<uint16_t>(lid)};
  if (attr_id != mad::attr::kClassPortInfo) mad_set_field(r.data.data(), 0, IB_PC_PORT_SELECT_F, port);
  return r;
}

// fabricctl's keys beside ibqueryerrors' counter names.
constexpr std::string_view kXmitWaitShareKey = "PortXmitWaitShare";
constexpr std::string_view kXmitWaitTickKey = "PortXmitWaitTickSymbols";
constexpr uint64_t kMaxTickSymbols = 256;  // PortSamplesControl.Tick is 8 bits wide

// One "Name=value" line of a thresholds file; errors point into it.
struct ThresholdLine {
  std::string_view filename;
  int number = 0;
  std::string_view raw;
  std::string_view name;
  std::string_view value;

  std::unexpected<Error> Fail(std::string message, std::string_view at) const {
    return MakeInputError(std::string(filename), number, std::move(message), std::string(raw),
                          static_cast<int>(raw.find(at) + 1));
  }
  std::unexpected<Error> BadValue(std::string message) const {
    return MakeInputError(std::string(filename), number, std::move(message), std::string(raw),
                          static_cast<int>(raw.find('=') + 2));
  }
};

std::unexpected<Error> UnknownName(const ThresholdLine& l) {
  std::string_view best;
  size_t best_d = 4;
  auto consider = [&](std::string_view candidate) {
    if (size_t d = EditDistance(l.name, candidate); d < best_d) best_d = d, best = candidate;
  };
  for (size_t i = 0; i < kNumErrorCounters; ++i) consider(kNames[i]);
  consider(kXmitWaitShareKey);
  consider(kXmitWaitTickKey);
  std::string message = fmt::format("unknown error counter '{}'", ShownValue(l.name));
  if (!best.empty()) message += fmt::format(" (did you mean '{}'?)", best);
  return l.Fail(std::move(message), l.name.empty() ? "=" : l.name);
}

Result<uint64_t> CountValue(const ThresholdLine& l) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(l.value.data(), l.value.data() + l.value.size(), v);
  if (ec == std::errc::result_out_of_range)
    return l.BadValue(fmt::format("threshold of {} is above the largest counter value {}", l.name,
                                  std::numeric_limits<uint64_t>::max()));
  if (l.value.empty() || ec != std::errc() || p != l.value.data() + l.value.size())
    return l.BadValue(
        fmt::format("threshold of {} must be a non-negative integer, not '{}'", l.name, ShownValue(l.value)));
  return v;
}

Result<double> ShareValue(const ThresholdLine& l) {
  double v = 0;
  auto [p, ec] = std::from_chars(l.value.data(), l.value.data() + l.value.size(), v);
  if (l.value.empty() || ec != std::errc() || p != l.value.data() + l.value.size() || !(v >= 0 && v <= 1))
    return l.BadValue(fmt::format("{} must be a share from 0 to 1 (0.05: 5%), not '{}'", l.name, ShownValue(l.value)));
  return v;
}

Result<uint32_t> TickValue(const ThresholdLine& l) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(l.value.data(), l.value.data() + l.value.size(), v);
  if (l.value.empty() || ec != std::errc() || p != l.value.data() + l.value.size() || v == 0 || v > kMaxTickSymbols)
    return l.BadValue(fmt::format("{} must be a whole number of symbol times from 1 to {}, not '{}'", l.name,
                                  kMaxTickSymbols, ShownValue(l.value)));
  return static_cast<uint32_t>(v);
}

Result<void> SetThreshold(Thresholds& t, const ThresholdLine& l) {
  if (l.name == kXmitWaitShareKey) {
    auto v = ShareValue(l);
    if (!v) return std::unexpected(v.error());
    t.xmit_wait_share = *v;
    return {};
  }
  if (l.name == kXmitWaitTickKey) {
    auto v = TickValue(l);
    if (!v) return std::unexpected(v.error());
    t.xmit_wait_tick_symbols = *v;
    return {};
  }
  auto counter = ParseCounterName(l.name);
  if (!counter || static_cast<size_t>(*counter) >= kNumErrorCounters) return UnknownName(l);
  auto v = CountValue(l);
  if (!v) return std::unexpected(v.error());
  t.limit[static_cast<size_t>(*counter)] = *v;
  return {};
}

}  // namespace

std::string_view CounterName(Counter c) { return kNames[static_cast<size_t>(c)]; }

std::optional<Counter> ParseCounterName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Counter>(i);
  return std::nullopt;
}

Result<Thresholds> ParseThresholds(std::string_view text, std::string_view filename) {
  Thresholds t;
  std::map<std::string, int, std::less<>> set_on;  // line of each name's threshold
  for (TextLines lines(text); lines.Next();) {
    const std::string_view raw = lines.line();
    const int line_no = lines.number();
    const std::string_view line = TrimBlanks(raw.substr(0, raw.find('#')));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos)
      return MakeInputError(std::string(filename), line_no, "expected Name=value", std::string(raw));
    ThresholdLine l{.filename = filename,
                    .number = line_no,
                    .raw = raw,
                    .name = TrimBlanks(line.substr(0, eq)),
                    .value = TrimBlanks(line.substr(eq + 1))};
    if (auto set = SetThreshold(t, l); !set) return std::unexpected(set.error());
    if (auto [it, fresh] = set_on.emplace(std::string(l.name), line_no); !fresh)
      return l.Fail(fmt::format("{} is already set on line {}", l.name, it->second), l.name);
  }
  return t;
}

Result<CounterReport> ReadCounters(mad::Transport& transport, const Fabric& fabric, const CounterOptions& options) {
  mad::MadRpc rpc(transport, options.rpc);
  CounterReport report;
  std::vector<std::optional<PortCounterReading>> readings(fabric.num_port_slots());

  auto problem = [&](PortId p, std::string message) { report.problems.push_back({p, std::move(message)}); };
  auto failure = [](std::string_view what, const mad::Completion& c) {
    return c.outcome == mad::Outcome::kTimeout ? fmt::format("{}: no answer", what)
                                               : fmt::format("{}: MAD status 0x{:04x}", what, c.status);
  };

  // Reads the ports one PMA answers for, PortCountersExtended too when it has them.
  auto read_ports = [&](uint32_t lid, const std::vector<PortId>& ports, bool extended) {
    for (PortId pid : ports) {
      unsigned num = fabric.port(pid).number;
      rpc.Post(PmaRequest(mad::Method::kGet, mad::attr::kPortCounters, lid, num),
               [&, pid, lid, num, extended](const mad::Completion& pc) {
                 if (pc.outcome != mad::Outcome::kOk) return problem(pid, failure("PortCounters", pc));
                 PortCounterReading r{.port = pid, .lid = lid};
                 uint8_t* d = const_cast<uint8_t*>(pc.reply->data());
                 for (size_t i = 0; i < kNumCounters; ++i) r.value[i] = mad_get_field(d, 0, kFields[i]);
                 readings[pid] = r;
                 if (extended)
                   rpc.Post(PmaRequest(mad::Method::kGet, mad::attr::kPortCountersExtended, lid, num),
                            [&, pid](const mad::Completion& ec) {
                              if (ec.outcome != mad::Outcome::kOk || !readings[pid]) return;
                              uint8_t* x = const_cast<uint8_t*>(ec.reply->data());
                              auto& v = readings[pid]->value;
                              v[size_t(Counter::kPortXmitData)] = mad_get_field64(x, 0, IB_PC_EXT_XMT_BYTES_F);
                              v[size_t(Counter::kPortRcvData)] = mad_get_field64(x, 0, IB_PC_EXT_RCV_BYTES_F);
                              v[size_t(Counter::kPortXmitPkts)] = mad_get_field64(x, 0, IB_PC_EXT_XMT_PKTS_F);
                              v[size_t(Counter::kPortRcvPkts)] = mad_get_field64(x, 0, IB_PC_EXT_RCV_PKTS_F);
                              readings[pid]->extended = true;
                            });
                 if (options.reset == ResetMode::kResetAfterRead) {
                   auto set = PmaRequest(mad::Method::kSet, mad::attr::kPortCounters, lid, num);
                   mad_set_field(set.data.data(), 0, IB_PC_COUNTER_SELECT_F, 0xffff);
                   mad_set_field(set.data.data(), 0, IB_PC_COUNTER_SELECT2_F, 0xff);
                   rpc.Post(set, [&, pid](const mad::Completion& sc) {
                     if (sc.outcome != mad::Outcome::kOk) problem(pid, failure("PortCounters reset", sc));
                   });
                   if (extended) {
                     auto xset = PmaRequest(mad::Method::kSet, mad::attr::kPortCountersExtended, lid, num);
                     mad_set_field(xset.data.data(), 0, IB_PC_EXT_COUNTER_SELECT_F, 0xff);
                     rpc.Post(xset, [&, pid](const mad::Completion& sc) {
                       if (sc.outcome != mad::Outcome::kOk) problem(pid, failure("PortCountersExtended reset", sc));
                     });
                   }
                 }
               });
    }
  };

  // Asks one PMA (one LID) about the ports it answers for; its ClassPortInfo first unless
  // an earlier reading already knows it.
  auto query = [&](uint32_t lid, std::vector<PortId> ports) {
    if (options.known)
      if (auto it = options.known->find(lid); it != options.known->end()) {
        report.capabilities.emplace(lid, it->second);
        return read_ports(lid, ports, it->second);
      }
    rpc.Post(PmaRequest(mad::Method::kGet, mad::attr::kClassPortInfo, lid, 0),
             [&, lid, ports = std::move(ports)](const mad::Completion& c) {
               bool extended = false;
               if (c.outcome == mad::Outcome::kOk) {
                 uint32_t cap = mad_get_field(const_cast<uint8_t*>(c.reply->data()), 0, IB_CPI_CAPMASK_F);
                 extended = (cap & (kCapExtendedWidth | kCapExtendedNoIetf)) != 0;
                 report.capabilities.emplace(lid, extended);
               }
               read_ports(lid, ports, extended);
             });
  };

  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    const Node& node = fabric.node(n);
    if (node.type == NodeType::kSwitch) {
      uint32_t lid = fabric.port(fabric.port_id(n, 0)).lid;
      std::vector<PortId> ports;
      for (unsigned p = 1; p <= node.num_ports; ++p)
        if (fabric.port(fabric.port_id(n, p)).peer != kNone) ports.push_back(fabric.port_id(n, p));
      if (ports.empty()) continue;
      if (lid == 0 || lid > 0xBFFFu) {
        for (PortId p : ports) problem(p, "switch has no LID (has a subnet manager run?)");
        continue;
      }
      query(lid, std::move(ports));
    } else {
      for (unsigned p = 1; p <= node.num_ports; ++p) {
        PortId pid = fabric.port_id(n, p);
        const Port& port = fabric.port(pid);
        if (port.peer == kNone) continue;
        if (port.lid == 0 || port.lid > 0xBFFFu) {
          problem(pid, "port has no LID (has a subnet manager run?)");
          continue;
        }
        query(port.lid, {pid});
      }
    }
  }
  if (auto r = rpc.Run(); !r) return std::unexpected(r.error());

  for (auto& r : readings) {
    if (!r) continue;
    for (size_t i = 0; i < kNumErrorCounters; ++i)
      if (r->value[i] > options.thresholds.limit[i]) r->over.push_back(static_cast<Counter>(i));
    report.ports.push_back(std::move(*r));
  }
  std::sort(report.problems.begin(), report.problems.end(),
            [](const CounterProblem& a, const CounterProblem& b) { return a.port < b.port; });
  report.stats = rpc.stats();
  return report;
}

}  // namespace fabricctl
