// CollectLive over the in-memory fake subnet: identity readings before GUID deduplication,
// SMInfo of the SM port, installed LFTs read back. A thin wrapper edits the fake's answers
// to make faults the fake cannot hold itself (a duplicate GUID, an SM, a LinearFDBTop).
#include "probes/check/live_snapshot.h"

#include <doctest/doctest.h>
#include <infiniband/mad.h>

#include <algorithm>
#include <map>

#include "tests/fabric/fake_transport.h"

namespace fabricctl::check {
namespace {

// Forwards to the fake and lets a test edit each answer, knowing the request it answers.
class EditingTransport final : public mad::Transport {
 public:
  using Editor = std::function<void(const mad::Request&, mad::Reply&)>;
  EditingTransport(mad::Transport& inner, Editor edit) : inner_(inner), edit_(std::move(edit)) {}

  Result<void> Send(const mad::Request& r, uint32_t tid, int timeout_ms) override {
    sent_[tid] = r;
    return inner_.Send(r, tid, timeout_ms);
  }
  Result<std::optional<mad::Reply>> Receive(int timeout_ms) override {
    auto r = inner_.Receive(timeout_ms);
    if (r && *r)
      if (auto it = sent_.find((*r)->tid); it != sent_.end()) edit_(it->second, **r);
    return r;
  }
  const mad::LocalPort& local() const override { return inner_.local(); }

 private:
  mad::Transport& inner_;
  Editor edit_;
  std::map<uint32_t, mad::Request> sent_;
};

uint8_t* Data(mad::Reply& r) { return r.mad.data() + mad::kSmpDataOffset; }

LiveOptions Quick() {
  return LiveOptions{.discovery = {.rpc = {.timeout_ms = 20, .retries = 1}},
                     .counters = LiveCounters::kSkip,
                     .sl2vl = Sl2VlReading::kSkip};
}

size_t CountGuidPort(const std::vector<IdentityReading>& readings, uint64_t guid, unsigned port) {
  return std::count_if(readings.begin(), readings.end(),
                       [&](const IdentityReading& r) { return r.node_guid == guid && r.port_number == port; });
}

TEST_CASE("a healthy subnet: one identity reading per LID-owning port, none stray") {
  Fabric truth = testing::FakeFatTree(2, 2, 3, 1);
  testing::FakeTransport fake(truth, 0, 0);
  auto live = CollectLive(fake, Quick());
  REQUIRE_MESSAGE(live, live.error().Format());
  const Snapshot& s = live->snapshot;
  REQUIRE(s.fabric != nullptr);
  CHECK(s.fabric->num_nodes() == 10);
  CHECK(StraySightings(*live->discovery).empty());
  REQUIRE(s.identities.size() == 10);  // 4 switches' port 0, 6 host ports
  for (const IdentityReading& r : s.identities) {
    auto n = truth.FindByGuid(r.node_guid);
    REQUIRE(n);
    CHECK(r.description == truth.description(*n));
    CHECK(r.lid == truth.port(truth.port_id(*n, r.port_number)).lid);
    CHECK(r.port_guid == (truth.is_switch(*n) ? truth.node(*n).guid : truth.port(truth.port_id(*n, 1)).guid));
    CHECK(r.active);
  }
  // The fake answers no SMInfo (and no port claims to be an SM): no SM readings, no problem.
  REQUIRE(s.sms);
  CHECK(s.sms->empty());
  CHECK_FALSE(s.counters);
}

TEST_CASE("two hosts answering with one node GUID: both readings kept, the second with its own LID") {
  Fabric truth = testing::FakeFatTree(2, 2, 3, 1);
  const uint64_t host0 = truth.node(*truth.FindByDescription("host0")).guid;
  const uint64_t host1 = truth.node(*truth.FindByDescription("host1")).guid;
  testing::FakeTransport fake(truth, 0, 0);
  EditingTransport t(fake, [&](const mad::Request& req, mad::Reply& reply) {
    if (req.attr_id == mad::attr::kNodeInfo && mad_get_field64(Data(reply), 0, IB_NODE_GUID_F) == host1)
      mad_set_field64(Data(reply), 0, IB_NODE_GUID_F, host0);
  });
  auto live = CollectLive(t, Quick());
  REQUIRE_MESSAGE(live, live.error().Format());
  CHECK(StraySightings(*live->discovery).size() == 1);
  const auto& ids = live->snapshot.identities;
  CHECK(CountGuidPort(ids, host0, 1) == 2);
  auto stray = std::find_if(ids.begin(), ids.end(), [](const IdentityReading& r) { return r.description == "host1"; });
  REQUIRE(stray != ids.end());
  CHECK(stray->node_guid == host0);
  CHECK(stray->lid == truth.port(truth.port_id(*truth.FindByDescription("host1"), 1)).lid);
  CHECK(stray->active);
}

TEST_CASE("a switch whose GUID another switch answers with is a stray, not a second cable") {
  Fabric truth = testing::FakeFatTree(3, 2, 1, 1);
  const uint64_t leaf1 = truth.node(*truth.FindByDescription("leaf1")).guid;
  const uint64_t leaf2 = truth.node(*truth.FindByDescription("leaf2")).guid;
  testing::FakeTransport fake(truth, 0, 0);
  EditingTransport t(fake, [&](const mad::Request& req, mad::Reply& reply) {
    if (req.attr_id == mad::attr::kNodeInfo && mad_get_field64(Data(reply), 0, IB_NODE_GUID_F) == leaf2)
      mad_set_field64(Data(reply), 0, IB_NODE_GUID_F, leaf1);
  });
  auto live = CollectLive(t, Quick());
  REQUIRE_MESSAGE(live, live.error().Format());
  CHECK(CountGuidPort(live->snapshot.identities, leaf1, 0) >= 2);
}

TEST_CASE("the port with IsSM set is asked for SMInfo; its answer is the SM reading") {
  Fabric truth = testing::FakeFatTree(2, 2, 2, 1);
  const NodeId spine0 = *truth.FindByDescription("spine0");
  const uint64_t spine0_guid = truth.node(spine0).guid;
  testing::FakeTransport fake(truth, 0, 0);
  EditingTransport t(fake, [&](const mad::Request& req, mad::Reply& reply) {
    uint8_t* d = Data(reply);
    // spine0's port 0 says an SM runs behind it, and that SM answers the SMInfo the fake refuses.
    if (req.attr_id == mad::attr::kPortInfo && req.attr_mod == 0 &&
        mad_get_field(d, 0, IB_PORT_LID_F) == truth.port(truth.port_id(spine0, 0)).lid)
      mad_set_field(d, 0, IB_PORT_CAPMASK_F, mad_get_field(d, 0, IB_PORT_CAPMASK_F) | mad::kCapIsSm);
    if (req.attr_id == mad::attr::kSmInfo) {
      reply.status = 0;
      mad_set_field64(d, 0, IB_SMINFO_GUID_F, spine0_guid);
      mad_set_field(d, 0, IB_SMINFO_ACT_F, 77);
      mad_set_field(d, 0, IB_SMINFO_PRIO_F, 14);
      mad_set_field(d, 0, IB_SMINFO_STATE_F, 3);
    }
  });
  auto live = CollectLive(t, Quick());
  REQUIRE_MESSAGE(live, live.error().Format());
  REQUIRE(live->snapshot.sms);
  REQUIRE(live->snapshot.sms->size() == 1);
  const SmReading& sm = live->snapshot.sms->front();
  CHECK(sm.where == "spine0[0]");
  CHECK(sm.guid == spine0_guid);
  CHECK(sm.lid == truth.port(truth.port_id(spine0, 0)).lid);
  CHECK(sm.priority == 14);
  CHECK(sm.state == 3);
  CHECK(sm.activity_count == 77);
}

TEST_CASE("installed LFTs are read back up to LinearFDBTop; a switch that refuses is a collection problem") {
  Fabric truth = testing::FakeFatTree(2, 2, 2, 1);
  testing::FakeTransport fake(truth, 0, 0);
  const NodeId leaf1 = *truth.FindByDescription("leaf1");
  // Every switch sends LID l out of port (l % 2) + 1; leaf1 also names a port it lacks.
  for (NodeId n = 0; n < truth.num_nodes(); ++n)
    if (truth.is_switch(n)) {
      fake.lft[n].assign(64, kNoRoute);
      for (unsigned lid = 1; lid <= 8; ++lid) fake.lft[n][lid] = static_cast<uint8_t>(lid % 2 + 1);
    }
  fake.lft[leaf1][5] = 40;
  EditingTransport t(fake, [&](const mad::Request& req, mad::Reply& reply) {
    if (req.attr_id == mad::attr::kSwitchInfo) mad_set_field(Data(reply), 0, IB_SW_LINEAR_FDB_TOP_F, 8);
    // The walk from leaf0 reaches spine1 through leaf0's port 4; spine1 refuses its LFT.
    if (req.attr_id == mad::attr::kLinearForwardingTable && req.path.hops == 1 && req.path.port[1] == 4)
      reply.status = 0x1c;
  });
  auto live = CollectLive(t, Quick());
  REQUIRE_MESSAGE(live, live.error().Format());
  const Snapshot& s = live->snapshot;
  REQUIRE(s.installed_routes != nullptr);
  REQUIRE(s.installed_routes->subnets.size() == 1);
  const SubnetRoutes& r = s.installed_routes->subnets[0];
  CHECK(r.engine == "installed");
  CHECK(r.num_vls == 1);
  const Fabric& f = *s.fabric;
  for (size_t i = 0; i < r.switches.size(); ++i) {
    const std::string& name = f.description(r.switches[i]);
    CAPTURE(name);
    for (Lid lid = 1; lid < r.num_lids(); ++lid) {
      uint8_t want = static_cast<uint8_t>(lid % 2 + 1);
      if (name == "leaf1" && lid == 5) want = kNoRoute;
      if (name == "spine1") want = r.lid_owner[lid] == f.port_id(r.switches[i], 0) ? 0 : kNoRoute;
      CHECK(r.out_port(i, lid) == want);
    }
  }
  bool named = false;
  for (const std::string& p : s.collection_problems)
    named |= p.find("leaf1") != std::string::npos && p.find("names port 40 of a 4-port switch") != std::string::npos;
  CHECK(named);
  std::vector<NodeId> incomplete{*f.FindByDescription("leaf1"), *f.FindByDescription("spine1")};
  std::sort(incomplete.begin(), incomplete.end());
  CHECK(live->installed->incomplete_nodes == incomplete);
  CHECK(live->installed->blocks_read == 3);
}

}  // namespace
}  // namespace fabricctl::check
