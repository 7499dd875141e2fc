// Online backups and restores of a Store (RocksDB's BackupEngine; D27).
//
// A backup copies the live SST files and the WAL without flushing first
// (flush_before_backup = false): the files and the log are captured at one
// point, so a restore replays the log into every column family together and
// an entity never comes back without its outbox event or its indexes. Every
// write acknowledged before CreateBackup began is in the WAL (or an SST), so
// it is in the backup.

#include <rocksdb/utilities/backup_engine.h>

#include <filesystem>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "common/store/store.h"

namespace salesops {
namespace {

// app_metadata of our backups: "epoch=<hex>;last_sequence=<n>".
std::string Metadata(const std::string& epoch, uint64_t last_sequence) {
  return absl::StrCat("epoch=", epoch, ";last_sequence=", last_sequence);
}

BackupInfo InfoOf(const rocksdb::BackupInfo& in) {
  BackupInfo out;
  out.id = in.backup_id;
  out.time_micros = in.timestamp * 1'000'000;
  out.size_bytes = in.size;
  out.file_count = in.number_files;
  for (absl::string_view part : absl::StrSplit(in.app_metadata, ';')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.first == "epoch") {
      out.epoch = std::string(kv.second);
    } else if (kv.first == "last_sequence") {
      (void)absl::SimpleAtoi(kv.second, &out.last_sequence);
    }
  }
  return out;
}

absl::Status BackupError(const std::string& what, const rocksdb::Status& s) {
  const absl::Status mapped = FromRocks(s);
  return absl::Status(mapped.code(), absl::StrCat(what, ": ", s.ToString()));
}

}  // namespace

absl::StatusOr<BackupInfo> Store::CreateBackup(const std::string& backup_dir,
                                               int keep) {
  if (backup_dir.empty()) {
    return absl::FailedPreconditionError(
        "backups: no --backup_dir is configured for this service");
  }
  if (keep < 1) {
    return absl::InvalidArgumentError("--backup_keep: must be >= 1");
  }
  std::unique_lock<std::mutex> lock(backup_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return absl::FailedPreconditionError(
        "backups: another backup of this store is running; retry when it "
        "ends");
  }
  rocksdb::BackupEngine* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngine::Open(
      rocksdb::BackupEngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) {
    return BackupError(absl::StrCat("backups: cannot open ", backup_dir), s);
  }
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);
  rocksdb::CreateBackupOptions options;
  options.flush_before_backup = false;
  rocksdb::BackupID id = 0;
  s = engine->CreateNewBackupWithMetadata(
      options, db_.get(), Metadata(epoch_, last_sequence()), &id);
  if (!s.ok()) {
    return BackupError("backups: backup failed", s);
  }
  s = engine->PurgeOldBackups(static_cast<uint32_t>(keep));
  if (!s.ok()) {
    log::Warn("backups: old backups not purged", {{"error", s.ToString()}});
  }
  rocksdb::BackupInfo info;
  rocksdb::Status got = engine->GetBackupInfo(id, &info);
  if (!got.ok()) {
    return BackupError("backups: backup taken but not readable", got);
  }
  BackupInfo out = InfoOf(info);
  log::Info("backup taken", {{"backup_dir", backup_dir},
                             {"id", static_cast<int64_t>(out.id)},
                             {"bytes", static_cast<int64_t>(out.size_bytes)},
                             {"last_sequence", out.last_sequence}});
  return out;
}

absl::StatusOr<std::vector<BackupInfo>> Store::ListBackups(
    const std::string& backup_dir) {
  if (backup_dir.empty()) {
    return absl::FailedPreconditionError(
        "backups: no --backup_dir is configured for this service");
  }
  std::vector<BackupInfo> out;
  std::error_code ec;
  if (!std::filesystem::exists(backup_dir, ec)) {
    return out;
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(
      rocksdb::BackupEngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) {
    return BackupError(absl::StrCat("backups: cannot open ", backup_dir), s);
  }
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  for (const rocksdb::BackupInfo& info : infos) {
    out.push_back(InfoOf(info));
  }
  return out;
}

absl::Status Store::RestoreBackup(const std::string& backup_dir, uint32_t id,
                                  const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(backup_dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--restore_from_backup_dir: ", backup_dir, " does not exist"));
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(
      rocksdb::BackupEngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) {
    return BackupError(absl::StrCat("restore: cannot open ", backup_dir), s);
  }
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  std::filesystem::create_directories(dir, ec);
  s = id == 0 ? engine->RestoreDBFromLatestBackup(dir, dir)
              : engine->RestoreDBFromBackup(id, dir, dir);
  if (!s.ok()) {
    return BackupError(absl::StrCat("restore of backup ",
                                    id == 0 ? "newest" : absl::StrCat(id),
                                    " from ", backup_dir, " failed"),
                       s);
  }
  log::Info("store restored from backup", {{"backup_dir", backup_dir},
                                           {"id", static_cast<int64_t>(id)},
                                           {"dir", dir}});
  return absl::OkStatus();
}

}  // namespace salesops
