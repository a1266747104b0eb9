#include "probes/sweep/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>

#include "fabric/display_text.h"

namespace fabricctl::sweep {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sweeps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started TEXT NOT NULL,
  mode TEXT NOT NULL,
  topology TEXT NOT NULL,
  probes INTEGER NOT NULL,
  findings INTEGER NOT NULL,
  healthy INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS link_results (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  link TEXT NOT NULL,
  health REAL,
  bw_ratio REAL,
  finding TEXT,
  score REAL
);
CREATE INDEX IF NOT EXISTS link_results_by_link ON link_results(link, sweep_id);
)sql";

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

Result<History> History::Open(const std::string& path) {
  History h;
  h.path_ = path;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  h.db_.reset(db);
  if (rc != SQLITE_OK)
    return std::unexpected(Error{.message = fmt::format("cannot open history: {}", sqlite3_errstr(rc)), .where = path});
  sqlite3_busy_timeout(db, 5000);  // a concurrent reader must not fail a nightly run
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return std::unexpected(Error{.message = "not a fabricctl history database: " + msg, .where = path});
  }
  return h;
}

Result<int64_t> History::Record(const Fabric& fabric, const SweepRecord& sweep, const SweepAnalysis& analysis) {
  sqlite3* db = db_.get();
  auto fail = [&](std::string_view what) {
    return std::unexpected(Error{.message = fmt::format("{}: {}", what, sqlite3_errmsg(db)), .where = path_});
  };
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail("cannot start transaction");
  Stmt ins;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO sweeps(started, mode, topology, probes, findings, healthy) VALUES(?,?,?,?,?,?)",
                         -1, &ins.s, nullptr) != SQLITE_OK) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return fail("cannot record sweep");
  }
  sqlite3_bind_text(ins.s, 1, sweep.started.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(ins.s, 2, sweep.mode.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(ins.s, 3, sweep.topology.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(ins.s, 4, sweep.probes);
  sqlite3_bind_int64(ins.s, 5, sweep.findings);
  sqlite3_bind_int(ins.s, 6, sweep.healthy ? 1 : 0);
  if (sqlite3_step(ins.s) != SQLITE_DONE) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return fail("cannot record sweep");
  }
  int64_t id = sqlite3_last_insert_rowid(db);

  std::map<LinkId, const Finding*> found;
  for (const Finding& f : analysis.findings)
    if (f.link != kNone) found.emplace(f.link, &f);
  Stmt row;
  sqlite3_prepare_v2(db,
                     "INSERT INTO link_results(sweep_id, link, health, bw_ratio, finding, score) VALUES(?,?,?,?,?,?)",
                     -1, &row.s, nullptr);
  for (LinkId l = 0; l < analysis.link_health.size(); ++l) {
    if (analysis.link_health[l] < 0) continue;  // not measured this time
    std::string name = fabric.LinkName(l);
    sqlite3_bind_int64(row.s, 1, id);
    sqlite3_bind_text(row.s, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(row.s, 3, analysis.link_health[l]);
    if (analysis.link_bw_ratio[l] >= 0)
      sqlite3_bind_double(row.s, 4, analysis.link_bw_ratio[l]);
    else
      sqlite3_bind_null(row.s, 4);
    auto it = found.find(l);
    if (it != found.end()) {
      sqlite3_bind_text(row.s, 5, std::string(ToString(it->second->kind)).c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_double(row.s, 6, it->second->score);
    } else {
      sqlite3_bind_null(row.s, 5);
      sqlite3_bind_null(row.s, 6);
    }
    if (sqlite3_step(row.s) != SQLITE_DONE) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail("cannot record link results");
    }
    sqlite3_reset(row.s);
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("cannot commit");
  return id;
}

namespace {

// Valid UTF-8 by the rules of the JSON writer that `sweep history --json` uses.
bool IsUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Reads the columns of one result row strictly: a database written by another program, or
// damaged, must not be read as zeros or crash on a NULL. Errors name the table, the row
// and the column.
class RowReader {
 public:
  RowReader(sqlite3_stmt* statement, const std::string& path, std::string_view table)
      : statement_(statement), path_(path), table_(table) {}
  void SetRow(std::string row) { row_ = std::move(row); }

  Result<int64_t> Integer(int column) const {
    if (sqlite3_column_type(statement_, column) != SQLITE_INTEGER) return Fail(column, "an integer");
    return sqlite3_column_int64(statement_, column);
  }
  Result<std::string> Text(int column) const {
    const unsigned char* text = sqlite3_column_text(statement_, column);
    if (sqlite3_column_type(statement_, column) != SQLITE_TEXT || !text) return Fail(column, "text");
    std::string value(reinterpret_cast<const char*>(text),
                      static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
    if (!IsUtf8(value)) return Fail(column, "UTF-8 text");
    return value;
  }
  Result<double> Real(int column) const {
    int type = sqlite3_column_type(statement_, column);
    double value = sqlite3_column_double(statement_, column);
    if ((type != SQLITE_FLOAT && type != SQLITE_INTEGER) || !std::isfinite(value)) return Fail(column, "a number");
    return value;
  }
  std::unexpected<Error> Fail(int column, std::string_view expected) const {
    const char* name = sqlite3_column_name(statement_, column);
    return std::unexpected(
        Error{.message = fmt::format("table {}{}: column {} is not {}", table_, row_, name ? name : "?", expected),
              .where = path_});
  }

 private:
  sqlite3_stmt* statement_;
  const std::string& path_;
  std::string_view table_;
  std::string row_;
};

}  // namespace

Result<std::vector<SweepRecord>> History::Sweeps(size_t limit) const {
  Stmt q;
  if (sqlite3_prepare_v2(
          db_.get(),
          "SELECT id, started, mode, topology, probes, findings, healthy FROM sweeps ORDER BY id DESC LIMIT ?", -1,
          &q.s, nullptr) != SQLITE_OK)
    return std::unexpected(Error{.message = sqlite3_errmsg(db_.get()), .where = path_});
  sqlite3_bind_int64(q.s, 1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<SweepRecord> out;
  RowReader row(q.s, path_, "sweeps");
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    SweepRecord r;
    auto id = row.Integer(0);
    if (!id) return std::unexpected(id.error());
    r.id = *id;
    row.SetRow(fmt::format(", row id {}", r.id));
    for (auto [column, text] : {std::pair{1, &r.started}, std::pair{2, &r.mode}, std::pair{3, &r.topology}}) {
      auto value = row.Text(column);
      if (!value) return std::unexpected(value.error());
      *text = std::move(*value);
    }
    for (auto [column, number] : {std::pair{4, &r.probes}, std::pair{5, &r.findings}}) {
      auto value = row.Integer(column);
      if (!value) return std::unexpected(value.error());
      if (*value < 0) return row.Fail(column, "a count");
      *number = *value;
    }
    auto healthy = row.Integer(6);
    if (!healthy || (*healthy != 0 && *healthy != 1)) return row.Fail(6, "0 or 1");
    r.healthy = *healthy == 1;
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return std::unexpected(Error{.message = sqlite3_errmsg(db_.get()), .where = path_});
  return std::vector<SweepRecord>(out.rbegin(), out.rend());
}

Result<std::vector<LinkTrend>> History::Trends(const TrendOptions& options) const {
  Stmt q;
  // The last `window` sweeps, oldest first within each link.
  if (sqlite3_prepare_v2(db_.get(),
                         "SELECT link, bw_ratio FROM link_results WHERE bw_ratio IS NOT NULL AND sweep_id IN "
                         "(SELECT id FROM sweeps ORDER BY id DESC LIMIT ?) ORDER BY link, sweep_id",
                         -1, &q.s, nullptr) != SQLITE_OK)
    return std::unexpected(Error{.message = sqlite3_errmsg(db_.get()), .where = path_});
  sqlite3_bind_int64(q.s, 1, static_cast<int64_t>(std::min<size_t>(options.window, INT64_MAX)));
  std::vector<LinkTrend> out;
  LinkTrend cur;
  auto finish = [&] {
    size_t n = cur.bw_ratio.size();
    if (n >= options.min_sweeps) {
      double mx = (n - 1) / 2.0, my = 0;
      for (double v : cur.bw_ratio) my += v;
      my /= n;
      double num = 0, den = 0;
      for (size_t i = 0; i < n; ++i) {
        num += (i - mx) * (cur.bw_ratio[i] - my);
        den += (i - mx) * (i - mx);
      }
      cur.slope = den > 0 ? num / den : 0;
      cur.drop = cur.bw_ratio.front() - cur.bw_ratio.back();
      if (cur.slope <= options.slope_threshold && cur.drop >= options.drop_threshold) out.push_back(cur);
    }
    cur = LinkTrend{};
  };
  RowReader row(q.s, path_, "link_results");
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    auto link = row.Text(0);
    if (!link) return std::unexpected(link.error());
    row.SetRow(fmt::format(", link {}", ShownValue(*link)));
    auto ratio = row.Real(1);
    if (!ratio) return std::unexpected(ratio.error());
    if (*link != cur.link) {
      if (!cur.link.empty()) finish();
      cur.link = std::move(*link);
    }
    cur.bw_ratio.push_back(*ratio);
  }
  if (rc != SQLITE_DONE) return std::unexpected(Error{.message = sqlite3_errmsg(db_.get()), .where = path_});
  if (!cur.link.empty()) finish();
  return out;
}

}  // namespace fabricctl::sweep
