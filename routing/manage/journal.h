#pragma once
// The route manager's state directory (default /var/lib/fabricctl/manage), so a manager
// killed at any point (kill -9 included) finishes the change it was installing when it
// starts again:
//   fabric.json   the fabric as discovered at first start (topology JSON): the ids every
//                 health mask and route table refers to
//   journal.json  what the switches are being made to hold: the health the base tables
//                 were routed for, the health of the change being installed, its phase and
//                 steps done; rewritten (temp file, fsync, rename) before a change's first
//                 write and after its last (progress between steps is read from the switches)
//   status.json   the service's state for `fabricctl manage status`
// Cables and switches are named by GUID and port, never by dense id, so a record stays
// meaningful if fabric.json is rewritten. On restart the manager routes fabric.json again
// (engines are deterministic), repairs for the journal's health, reads what the switches
// hold and installs what differs in a planned order.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/fabric_health.h"

namespace fabricctl {

inline constexpr const char* kDefaultStateDir = "/var/lib/fabricctl/manage";

struct JournalHealth {
  std::vector<std::pair<uint64_t, unsigned>> links_down;  // (node GUID, port) of one end
  std::vector<uint64_t> nodes_down;                       // switch GUIDs
  bool operator==(const JournalHealth&) const = default;
};

JournalHealth ToJournalHealth(const Fabric& fabric, const FabricHealth& health);
// Fails when a cable or switch of the record is not in `fabric`.
Result<FabricHealth> FromJournalHealth(const Fabric& fabric, const JournalHealth& health);

enum class JournalPhase : uint8_t { kInstalling, kDone };

struct JournalRecord {
  std::string engine;           // the engine selection the base tables were routed with
  JournalHealth base_health;    // the health the base tables were routed for (full reroutes)
  JournalHealth target_health;  // the change being installed (kInstalling) or last installed
  JournalPhase phase = JournalPhase::kDone;
  uint64_t change = 0;  // changes handled since the first start
  size_t steps_done = 0;
  size_t steps_total = 0;
};

class Journal {
 public:
  // Creates the directory when missing.
  static Result<Journal> Open(const std::string& dir);
  const std::string& dir() const { return dir_; }

  // nullopt when the file is not there.
  Result<std::optional<Fabric>> ReadFabric() const;
  Result<void> WriteFabric(const Fabric& fabric) const;
  Result<std::optional<JournalRecord>> Read() const;
  Result<void> Write(const JournalRecord& record) const;
  Result<void> WriteStatus(const nlohmann::json& status) const;
  std::string status_path() const { return dir_ + "/status.json"; }

 private:
  explicit Journal(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

nlohmann::json JournalRecordJson(const JournalRecord& record);
// Strict: a malformed journal is an error naming the file, not a guess.
Result<JournalRecord> ParseJournalRecord(const std::string& text, const std::string& filename);

}  // namespace fabricctl
