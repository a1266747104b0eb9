// tools/opensm-compare.sh end to end on a tiny fat tree: ibsim, OpenSM, our reader, verifier,
// metrics and engines. Needs ibsim, opensm and umad2sim: label ibsim.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

std::string Run(const std::string& cmd, int& rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  rc = pclose(p);
  return out;
}

}  // namespace

TEST_SUITE("ibsim_opensm_compare") {
  TEST_CASE("opensm-compare: OpenSM's minhop and ftree tables next to ours on a 2-tier fat tree") {
    if (std::system("command -v ibsim >/dev/null && command -v opensm >/dev/null && "
                    "test -r /usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so") != 0) {
      MESSAGE("ibsim, opensm or umad2sim missing: skipped");
      return;
    }
    std::string build = std::filesystem::path(FABRICCTL_BINARY).parent_path().string();
    int rc = 0;
    std::string out = Run(std::string("bash ") + FABRICCTL_SOURCE_DIR + "/tools/opensm-compare.sh -b " + build +
                              " -c tiny -e minhop,ftree -r auto1,minhop,minhop-1p -t 120 2>/dev/null",
                          rc);
    INFO(out);
    CHECK(rc == 0);
    // 32 hosts, 4 per leaf, 4 uplinks: every OpenSM and fabricctl table must meet the bound 28.
    CHECK(out.find("#### fat-tree k=8 tiers=2: 12 switches, 32 endpoints, busiest-channel lower bound 28") !=
          std::string::npos);
    CHECK(out.find("| OpenSM | minhop | 28 | 1 | 4 / 3.81 |") != std::string::npos);
    CHECK(out.find("| OpenSM | ftree | 28 | 1 | 4 / 3.81 |") != std::string::npos);
    CHECK(out.find("| ours | auto --vls 1 (ftree) | 28 | 1 | 4 / 3.81 |") != std::string::npos);
    CHECK(out.find("| ours | minhop | 28 | 1 |") != std::string::npos);
    // A -1p run is --one-pass, compared with OpenSM's same engine (a speed-up, not "-").
    const size_t one_pass = out.find("| ours | minhop --one-pass | 28 | 1 | 4 / 3.81 |");
    REQUIRE(one_pass != std::string::npos);
    const std::string row = out.substr(one_pass, out.find('\n', one_pass) - one_pass);
    CHECK(row.ends_with("x |"));
    CHECK(out.find("- 1 VL: ours `auto --vls 1` 28 routes on the busiest channel (deadlock-free) vs OpenSM's best "
                   "deadlock-free 1-VL table (minhop) 28: **win**") != std::string::npos);
  }
}
