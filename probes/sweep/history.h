#pragma once
// Sweep history in SQLite: one row per sweep and one per link per sweep, so slow decay
// shows as a trend across nights. Schema in docs/sweeps.md.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"

namespace fabricctl::sweep {

struct SweepRecord {
  int64_t id = 0;
  std::string started, mode, topology;
  int64_t probes = 0, findings = 0;
  bool healthy = false;
};

struct LinkTrend {
  std::string link;
  std::vector<double> bw_ratio;  // oldest first, one per sweep that measured the link
  double slope = 0;              // change of bw_ratio per sweep (least squares)
  double drop = 0;               // first - last
};

struct TrendOptions {
  size_t window = 7;               // sweeps to look back
  size_t min_sweeps = 3;           // fewer than this: no trend
  double slope_threshold = -0.02;  // per sweep
  double drop_threshold = 0.08;    // total over the window
};

class History {
 public:
  // Opens or creates the database; creates the schema when missing.
  static Result<History> Open(const std::string& path);

  Result<int64_t> Record(const Fabric& fabric, const SweepRecord& sweep, const SweepAnalysis& analysis);
  Result<std::vector<SweepRecord>> Sweeps(size_t limit) const;
  // Links whose median bandwidth ratio falls steadily across the last sweeps.
  Result<std::vector<LinkTrend>> Trends(const TrendOptions& options) const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
};

}  // namespace fabricctl::sweep
