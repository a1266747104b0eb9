#include "fabric/ibsim_format.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "fabric/fabric_builder.h"
#include "fabric/file_io.h"
#include "fabric/ibnetdiscover_format.h"
#include "tests/fabric/topology_test_util.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

using testing::DiffByGuid;
using testing::RandomFabric;

TEST_CASE("ibsim: rates enabled by a port comment and trained between two ends") {
  auto r = IbsimRateFromComment(LinkWidth::k4x, LinkSpeed::kHDR);
  CHECK(r.widths == (WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k4x)));
  auto hdr = IbsimNegotiate(r, r);
  REQUIRE(hdr);
  CHECK(hdr->width == LinkWidth::k4x);
  CHECK(hdr->speed == LinkSpeed::kHDR);
  // A 4xHDR end and a 1xQDR end train 1xQDR; an FDR10 end and an EDR end train FDR10.
  auto slow = IbsimNegotiate(r, IbsimRateFromComment(LinkWidth::k1x, LinkSpeed::kQDR));
  REQUIRE(slow);
  CHECK(slow->width == LinkWidth::k1x);
  CHECK(slow->speed == LinkSpeed::kQDR);
  auto fdr10 = IbsimNegotiate(IbsimRateFromComment(LinkWidth::k4x, LinkSpeed::kFDR10),
                              IbsimRateFromComment(LinkWidth::k4x, LinkSpeed::kEDR));
  REQUIRE(fdr10);
  CHECK(fdr10->speed == LinkSpeed::kFDR10);
  // 2x and 4x share nothing: ibsim refuses to start.
  CHECK(!IbsimNegotiate(IbsimRateFromComment(LinkWidth::k2x, LinkSpeed::kHDR), r));
  // ibsim's defaults: 4x only, SDR only.
  auto d = IbsimNegotiate(IbsimPortRate{}, IbsimPortRate{});
  REQUIRE(d);
  CHECK(d->width == LinkWidth::k4x);
  CHECK(d->speed == LinkSpeed::kSDR);
  CHECK(IbsimSpeed(LinkSpeed::kNDR) == LinkSpeed::kHDR);
  CHECK(IbsimSpeed(LinkSpeed::kXDR) == LinkSpeed::kHDR);
  CHECK(IbsimSpeed(LinkSpeed::kEDR) == LinkSpeed::kEDR);
  CHECK(!IbsimWidthOption(0));
  CHECK(!IbsimWidthOption(32));
  CHECK(!IbsimSpeedOption(8));
  CHECK(*IbsimSpeedOption(0) == SpeedBit(LinkSpeed::kQDR));
}

TEST_CASE("ibsim: GUID-less nodes get distinct synthetic GUIDs, others keep theirs") {
  FabricBuilder b;
  (void)*b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x200000, .description = "s0"});
  (void)*b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .description = "s1"});
  (void)*b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 0x100001, .description = "h0"});
  (void)*b.AddNode({.type = NodeType::kCa, .num_ports = 2, .description = "h1"});
  (void)*b.AddNode({.type = NodeType::kRouter, .num_ports = 1, .description = "r"});
  Fabric f = std::move(*b.Build());
  auto g = IbsimNodeGuids(f);
  CHECK(g == std::vector<uint64_t>{0x200000, 0x200001, 0x100001, 0x100002, 0x300000});
}

TEST_CASE("ibsim: the written file reads back as the fabric ibsim will simulate") {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    CAPTURE(seed);
    // Routers are left out: ibsim ignores their port comments, the reader does not.
    Fabric f = RandomFabric(seed, {.guid_less_nodes = true, .routers = false});
    std::string text = WriteIbsimTopology(f);
    auto read = ParseIbnetdiscover(text, "written.ibsim");
    REQUIRE_MESSAGE(read, read.error().Format());
    auto expected = IbsimExpectedFabric(f);
    REQUIRE(expected);
    CHECK(DiffByGuid(*expected, *read) == "");
  }
}

TEST_CASE("ibsim: size arguments only when a fabric exceeds ibsim's tables") {
  FabricBuilder sb;
  NodeId s0 = *sb.AddNode({.type = NodeType::kSwitch, .num_ports = 36, .guid = 1, .description = "s"});
  sb.port(s0, 0).lid = 30000;
  Fabric small = std::move(*sb.Build());
  CHECK(IbsimSizeArgs(small).empty());
  FabricBuilder b;
  for (unsigned i = 0; i < 300; ++i)
    (void)*b.AddNode({.type = NodeType::kSwitch, .num_ports = 64, .guid = 0x1000 + i, .description = "s"});
  NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x9000, .description = "h"});
  b.port(h, 1).lid = 40000;
  Fabric big = std::move(*b.Build());
  CHECK(IbsimSizeArgs(big) == std::vector<std::string>{"-N", "2048", "-S", "300", "-P", "19502", "-L", "40064"});
}

TEST_CASE("ibsim: file layout for a small fabric") {
  FabricBuilder b;
  NodeId s = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "sw \"one\"=1"});
  NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h"});
  NodeId r = *b.AddNode({.type = NodeType::kRouter, .num_ports = 1, .guid = 0x30, .description = "r"});
  b.port(s, 0).lid = 1;
  REQUIRE(b.Connect(s, 1, h, 1, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR}));
  REQUIRE(b.Connect(s, 2, r, 1, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kEDR}));
  b.port(h, 1).lid = 2;
  Fabric f = std::move(*b.Build());
  std::string text = WriteIbsimTopology(f);
  CHECK(text.find("Switch\t4 \"S-0000000000000010\"\t\t# \"sw 'one'=1\" base port 0 lid 1 lmc 0\n") !=
        std::string::npos);
  CHECK(text.find("[1]\t\"H-0000000000000020\"[1](21) \t\t# \"\" lid 2 4xHDR\n") != std::string::npos);
  CHECK(text.find("[1](21) \t\"S-0000000000000010\"[1]\t\t# lid 2 lmc 0 \"\" lid 1 4xHDR\n") != std::string::npos);
  CHECK(text.find("[1](31) \t\"S-0000000000000010\"[2]\tw=3 s=7 e=3\t\t# lid 0 lmc 0 \"\" lid 1 4xEDR\n") !=
        std::string::npos);
}

TEST_CASE("ibsim: golden run: what ibnetdiscover printed for written.ibsim is the expected fabric") {
  // written.ibsim = WriteIbsimTopology(written.ibnd); written_via_ibsim.ibnd is Debian's
  // ibnetdiscover against `ibsim -s written.ibsim` (NDR became HDR; the CA with device id
  // 0x673c shows its FDR10 link as QDR, the switch end as FDR10).
  auto model = ParseIbnetdiscover(testing::ReadTopoData("written.ibnd"), "written.ibnd");
  REQUIRE(model);
  CHECK(WriteIbsimTopology(*model) == testing::ReadTopoData("written.ibsim"));
  auto expected = IbsimExpectedFabric(*model);
  REQUIRE(expected);
  auto discovered = ParseIbnetdiscover(testing::ReadTopoData("written_via_ibsim.ibnd"), "written_via_ibsim.ibnd");
  REQUIRE_MESSAGE(discovered, discovered.error().Format());
  CHECK(DiffByGuid(*expected, *discovered) == "");
  auto as_written = ParseIbnetdiscover(testing::ReadTopoData("written.ibsim"), "written.ibsim");
  REQUIRE_MESSAGE(as_written, as_written.error().Format());
  CHECK(DiffByGuid(*expected, *as_written) == "");
}

// ---------------------------------------------------------------------------------------
// Against the real simulator.

constexpr const char* kUmad2Sim = "/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so";

bool HaveIbsim() {
  return std::system("command -v ibsim >/dev/null 2>&1 && command -v ibnetdiscover >/dev/null 2>&1") == 0 &&
         access(kUmad2Sim, R_OK) == 0;
}

// Runs `ibsim -s FILE` with its own socket name; stops it (and waits) when destroyed.
class IbsimProcess {
 public:
  IbsimProcess(const std::string& netfile, const std::vector<std::string>& size_args, const std::string& log,
               const std::string& sockname) {
    std::vector<std::string> args{"ibsim"};
    args.insert(args.end(), size_args.begin(), size_args.end());
    args.insert(args.end(), {"-s", netfile});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int in[2];
    if (pipe(in) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      close(in[1]);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("IBSIM_SOCKNAME", sockname.c_str(), 1);
      execvp("ibsim", argv.data());
      _exit(127);
    }
    close(in[0]);
    console_ = in[1];  // held open: ibsim reads console commands from it
  }
  ~IbsimProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 50; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    if (console_ >= 0) close(console_);
  }
  bool started() const { return pid_ > 0; }
  bool alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
  int console_ = -1;
};

// Writes `fabric` for ibsim, runs it, discovers it with ibnetdiscover and returns the text.
Result<std::string> DiscoverThroughIbsim(const Fabric& fabric, const std::string& tag) {
  namespace fs = std::filesystem;
  const testing::ScratchDir scratch("ibsim-" + tag);
  const fs::path dir = scratch.dir;
  std::string net = (dir / "fabric.ibsim").string(), log = (dir / "ibsim.log").string();
  if (auto w = WriteFileAtomic(net, WriteIbsimTopology(fabric)); !w) return std::unexpected(w.error());
  std::string sock = fmt::format("fabricctl-test-{}-{}", getpid(), tag);
  IbsimProcess sim(net, IbsimSizeArgs(fabric), log, sock);
  if (!sim.started()) return MakeError("could not start ibsim");
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {  // 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto text = ReadFile(log);
    ready = text && text->find("Network simulator ready") != std::string::npos;
    if (!sim.alive()) break;
  }
  if (!ready) {
    auto text = ReadFile(log);
    return MakeError("ibsim did not become ready:\n" + (text ? *text : std::string()));
  }
  std::string out = (dir / "ibnd.out").string();
  std::string cmd = fmt::format("IBSIM_SOCKNAME={} LD_PRELOAD={} timeout 60 ibnetdiscover > {} 2> {}", sock, kUmad2Sim,
                                out, (dir / "ibnd.err").string());
  if (int rc = std::system(cmd.c_str()); rc != 0) {
    auto err = ReadFile((dir / "ibnd.err").string());
    return MakeError(fmt::format("ibnetdiscover failed ({}): {}", rc, err ? *err : ""));
  }
  return ReadFile(out);
}

// A fabric with every node type, GUID-less nodes, LIDs, and the rates ibsim can and cannot show.
Fabric SimFabric() {
  FabricBuilder b;
  NodeId spine = *b.AddNode({.type = NodeType::kSwitch,
                             .num_ports = 36,
                             .guid = 0xe41d2d0300aa0000,
                             .description = "spine",
                             .vendor_id = 0x2c9,
                             .device_id = 0xd2f0});
  NodeId leaf1 = *b.AddNode({.type = NodeType::kSwitch,
                             .num_ports = 36,
                             .guid = 0xe41d2d0300aa0100,
                             .system_guid = 0xe41d2d0300aa01ff,
                             .description = "leaf1",
                             .vendor_id = 0x2c9,
                             .device_id = 0xd2f0});
  NodeId leaf2 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 36, .description = "leaf2 (no GUID)"});
  b.port(spine, 0).lid = 1;
  b.port(leaf1, 0).lid = 2;
  b.port(leaf1, 0).lmc = 1;
  b.port(leaf2, 0).lid = 3;
  REQUIRE(b.Connect(spine, 1, leaf1, 31, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR}));
  REQUIRE(b.Connect(spine, 2, leaf1, 32, LinkRate{.width = LinkWidth::k2x, .speed = LinkSpeed::kHDR}));
  REQUIRE(b.Connect(spine, 3, leaf2, 31, LinkRate{.width = LinkWidth::k12x, .speed = LinkSpeed::kEDR}));
  REQUIRE(b.Connect(spine, 4, leaf2, 32, LinkRate{.width = LinkWidth::k1x, .speed = LinkSpeed::kQDR}));
  static const LinkRate kRates[] = {{LinkWidth::k4x, LinkSpeed::kHDR}, {LinkWidth::k4x, LinkSpeed::kFDR10},
                                    {LinkWidth::k8x, LinkSpeed::kFDR}, {LinkWidth::k1x, LinkSpeed::kSDR},
                                    {LinkWidth::k4x, LinkSpeed::kDDR}, {LinkWidth::k2x, LinkSpeed::kNDR}};
  for (unsigned i = 0; i < 12; ++i) {
    bool has_guid = i % 5 != 4;
    NodeId h = *b.AddNode({.type = NodeType::kCa,
                           .num_ports = 2,
                           .guid = has_guid ? 0x946dae0300bb0000 + 0x10 * i : 0,
                           .description = fmt::format("gpu{:03} mlx5_0", i),
                           .vendor_id = 0x2c9,
                           .device_id = 0x101b});
    NodeId leaf = i % 2 ? leaf2 : leaf1;
    REQUIRE(b.Connect(h, 1, leaf, 1 + i / 2, kRates[i % 6]));
    b.port(h, 1).lid = 100 + i;
    b.port(h, 1).lmc = i % 3 == 0 ? 1 : 0;
    if (i < 4) {
      REQUIRE(b.Connect(h, 2, spine, 10 + i, kRates[(i + 1) % 6]));
      b.port(h, 2).lid = 200 + i;
    }
  }
  NodeId router =
      *b.AddNode({.type = NodeType::kRouter, .num_ports = 1, .guid = 0x0002c903000f0000, .description = "router"});
  REQUIRE(b.Connect(router, 1, spine, 20, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kEDR}));
  return std::move(*b.Build());
}

TEST_SUITE("ibsim_formats") {
  TEST_CASE("ibsim: a written fabric, loaded in ibsim and discovered, is the planned one") {
    if (!HaveIbsim()) {
      MESSAGE(
          "skipped: ibsim, ibnetdiscover or libumad2sim.so not installed (apt-get install ibsim-utils "
          "libumad2sim0 infiniband-diags)");
      return;
    }
    Fabric planned = SimFabric();
    auto text = DiscoverThroughIbsim(planned, "sim");
    REQUIRE_MESSAGE(text, text.error().Format());
    auto discovered = ParseIbnetdiscover(*text, "ibnetdiscover-output");
    REQUIRE_MESSAGE(discovered, discovered.error().Format());
    auto expected = IbsimExpectedFabric(planned);
    REQUIRE(expected);
    CHECK(DiffByGuid(*expected, *discovered) == "");
    // NDR is beyond ibsim 0.10: the spine-leaf1 NDR link trains at HDR.
    const Port& p = discovered->port(discovered->port_id(*discovered->FindByGuid(0xe41d2d0300aa0000), 1));
    CHECK(p.speed_active == LinkSpeed::kHDR);
  }

  TEST_CASE("ibsim: random fabrics survive ibsim and ibnetdiscover") {
    if (!HaveIbsim()) {
      MESSAGE("skipped: ibsim, ibnetdiscover or libumad2sim.so not installed");
      return;
    }
    int ran = 0;
    for (uint64_t seed = 1; seed <= 300 && ran < 4; ++seed) {
      CAPTURE(seed);
      Fabric planned = RandomFabric(seed, {.guid_less_nodes = true, .fdr10 = false});
      // ibnetdiscover finds what is reachable from the first node; keep to connected fabrics.
      if (planned.subnets().size() != 1 || planned.num_links() == 0) continue;
      bool all_connected = true;
      for (NodeId n = 0; n < planned.num_nodes(); ++n) all_connected &= !planned.neighbors(n).empty();
      if (!all_connected) continue;
      auto text = DiscoverThroughIbsim(planned, fmt::format("rand{}", seed));
      REQUIRE_MESSAGE(text, text.error().Format());
      auto discovered = ParseIbnetdiscover(*text, "ibnetdiscover-output");
      REQUIRE_MESSAGE(discovered, discovered.error().Format());
      auto expected = IbsimExpectedFabric(planned);
      REQUIRE(expected);
      CHECK(DiffByGuid(*expected, *discovered) == "");
      ++ran;
    }
    CHECK(ran == 4);
  }
}

}  // namespace
}  // namespace fabricctl
