#include "fabric/counters.h"

#include <fmt/format.h>
#include <infiniband/mad.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <vector>

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
  std::vector<std::string_view> candidates(kNames.begin(), kNames.begin() + kNumErrorCounters);
  candidates.push_back(kXmitWaitShareKey);
  candidates.push_back(kXmitWaitTickKey);
  std::string message = fmt::format("unknown error counter '{}'", ShownValue(l.name));
  // Counter names are long and alike: three edits still point at one of them.
  message += DidYouMean(l.name, candidates, 3);
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

namespace {

std::string MadFailure(std::string_view what, const mad::Completion& c) {
  return c.outcome == mad::Outcome::kTimeout ? fmt::format("{}: no answer", what)
                                             : fmt::format("{}: MAD status 0x{:04x}", what, c.status);
}

// One pass of PMA reads over a fabric: the requests are posted to one MadRpc, and each
// reply's callback fills `readings_` or adds a problem.
class CounterReader {
 public:
  CounterReader(mad::Transport& transport, const Fabric& fabric, const CounterOptions& options)
      : fabric_(fabric), options_(options), rpc_(transport, options.rpc), readings_(fabric.num_port_slots()) {}

  Result<CounterReport> Run() {
    for (NodeId n = 0; n < fabric_.num_nodes(); ++n) QueryNode(n);
    if (auto r = rpc_.Run(); !r) return std::unexpected(r.error());
    for (auto& r : readings_) {
      if (!r) continue;
      for (size_t i = 0; i < kNumErrorCounters; ++i)
        if (r->value[i] > options_.thresholds.limit[i]) r->over.push_back(static_cast<Counter>(i));
      report_.ports.push_back(std::move(*r));
    }
    std::sort(report_.problems.begin(), report_.problems.end(),
              [](const CounterProblem& a, const CounterProblem& b) { return a.port < b.port; });
    report_.stats = rpc_.stats();
    return std::move(report_);
  }

 private:
  void Problem(PortId p, std::string message) { report_.problems.push_back({p, std::move(message)}); }

  // A switch's PMA answers for all its cabled ports at the LID of port 0; a CA's or
  // router's for each port at that port's LID.
  void QueryNode(NodeId n) {
    const Node& node = fabric_.node(n);
    if (node.type == NodeType::kSwitch) {
      uint32_t lid = fabric_.port(fabric_.port_id(n, 0)).lid;
      std::vector<PortId> ports;
      for (unsigned p = 1; p <= node.num_ports; ++p)
        if (fabric_.port(fabric_.port_id(n, p)).peer != kNone) ports.push_back(fabric_.port_id(n, p));
      if (ports.empty()) return;
      if (lid == 0 || lid > 0xBFFFu) {
        for (PortId p : ports) Problem(p, "switch has no LID (has a subnet manager run?)");
        return;
      }
      Query(lid, std::move(ports));
      return;
    }
    for (unsigned p = 1; p <= node.num_ports; ++p) {
      PortId pid = fabric_.port_id(n, p);
      const Port& port = fabric_.port(pid);
      if (port.peer == kNone) continue;
      if (port.lid == 0 || port.lid > 0xBFFFu) {
        Problem(pid, "port has no LID (has a subnet manager run?)");
        continue;
      }
      Query(port.lid, {pid});
    }
  }

  // Asks one PMA (one LID) about the ports it answers for; its ClassPortInfo first unless
  // an earlier reading already knows it.
  void Query(uint32_t lid, std::vector<PortId> ports) {
    if (options_.known)
      if (auto it = options_.known->find(lid); it != options_.known->end()) {
        report_.capabilities.emplace(lid, it->second);
        return ReadPorts(lid, ports, it->second);
      }
    rpc_.Post(PmaRequest(mad::Method::kGet, mad::attr::kClassPortInfo, lid, 0),
              [this, lid, ports = std::move(ports)](const mad::Completion& c) {
                bool extended = false;
                if (c.outcome == mad::Outcome::kOk) {
                  uint32_t cap = mad_get_field(const_cast<uint8_t*>(c.reply->data()), 0, IB_CPI_CAPMASK_F);
                  extended = (cap & (kCapExtendedWidth | kCapExtendedNoIetf)) != 0;
                  report_.capabilities.emplace(lid, extended);
                }
                ReadPorts(lid, ports, extended);
              });
  }

  // Reads the ports one PMA answers for, PortCountersExtended too when it has them.
  void ReadPorts(uint32_t lid, const std::vector<PortId>& ports, bool extended) {
    for (PortId pid : ports) {
      unsigned num = fabric_.port(pid).number;
      rpc_.Post(PmaRequest(mad::Method::kGet, mad::attr::kPortCounters, lid, num),
                [this, pid, lid, num, extended](const mad::Completion& pc) {
                  if (pc.outcome != mad::Outcome::kOk) return Problem(pid, MadFailure("PortCounters", pc));
                  PortCounterReading r{.port = pid, .lid = lid};
                  uint8_t* d = const_cast<uint8_t*>(pc.reply->data());
                  for (size_t i = 0; i < kNumCounters; ++i) r.value[i] = mad_get_field(d, 0, kFields[i]);
                  readings_[pid] = r;
                  if (extended) ReadExtended(pid, lid, num);
                  if (options_.reset == ResetMode::kResetAfterRead) Reset(pid, lid, num, extended);
                });
    }
  }

  // The 64-bit data and packet counters replace the 32-bit ones read first.
  void ReadExtended(PortId pid, uint32_t lid, unsigned num) {
    rpc_.Post(PmaRequest(mad::Method::kGet, mad::attr::kPortCountersExtended, lid, num),
              [this, pid](const mad::Completion& ec) {
                if (ec.outcome != mad::Outcome::kOk || !readings_[pid]) return;
                uint8_t* x = const_cast<uint8_t*>(ec.reply->data());
                auto& v = readings_[pid]->value;
                v[size_t(Counter::kPortXmitData)] = mad_get_field64(x, 0, IB_PC_EXT_XMT_BYTES_F);
                v[size_t(Counter::kPortRcvData)] = mad_get_field64(x, 0, IB_PC_EXT_RCV_BYTES_F);
                v[size_t(Counter::kPortXmitPkts)] = mad_get_field64(x, 0, IB_PC_EXT_XMT_PKTS_F);
                v[size_t(Counter::kPortRcvPkts)] = mad_get_field64(x, 0, IB_PC_EXT_RCV_PKTS_F);
                readings_[pid]->extended = true;
              });
  }

  void Reset(PortId pid, uint32_t lid, unsigned num, bool extended) {
    auto set = PmaRequest(mad::Method::kSet, mad::attr::kPortCounters, lid, num);
    mad_set_field(set.data.data(), 0, IB_PC_COUNTER_SELECT_F, 0xffff);
    mad_set_field(set.data.data(), 0, IB_PC_COUNTER_SELECT2_F, 0xff);
    rpc_.Post(set, [this, pid](const mad::Completion& sc) {
      if (sc.outcome != mad::Outcome::kOk) Problem(pid, MadFailure("PortCounters reset", sc));
    });
    if (!extended) return;
    auto xset = PmaRequest(mad::Method::kSet, mad::attr::kPortCountersExtended, lid, num);
    mad_set_field(xset.data.data(), 0, IB_PC_EXT_COUNTER_SELECT_F, 0xff);
    rpc_.Post(xset, [this, pid](const mad::Completion& sc) {
      if (sc.outcome != mad::Outcome::kOk) Problem(pid, MadFailure("PortCountersExtended reset", sc));
    });
  }

  const Fabric& fabric_;
  const CounterOptions& options_;
  mad::MadRpc rpc_;
  CounterReport report_;
  std::vector<std::optional<PortCounterReading>> readings_;
};

}  // namespace

Result<CounterReport> ReadCounters(mad::Transport& transport, const Fabric& fabric, const CounterOptions& options) {
  return CounterReader(transport, fabric, options).Run();
}

}  // namespace fabricctl
