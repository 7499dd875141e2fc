// salesopsctl backup ...: online backups of a service's store
// (salesops.v1.BackupService, ADMIN only; docs/DECISIONS.md D27). A restore is
// not a remote call: start the stopped service on an empty data dir with
// --restore_from_backup_dir (docs/OPERATIONS.md "Backup and restore").

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "salesops/v1/backup.grpc.pb.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

absl::StatusOr<std::unique_ptr<v1::BackupService::Stub>> StubFor(const Args& a,
                                                                 Env& env) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                   ServiceFlagChannel(a, env));
  return v1::BackupService::NewStub(channel);
}

std::vector<std::string> Row(const v1::Backup& b) {
  return {absl::StrCat(b.id()),
          TimeText(b.time_micros()),
          absl::StrCat(b.size_bytes()),
          absl::StrCat(b.file_count()),
          absl::StrCat(b.feed_sequence()),
          b.epoch()};
}

const std::vector<std::string> kColumns = {"id",    "time",          "bytes",
                                           "files", "feed_sequence", "epoch"};

absl::Status BackupCreate(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(auto stub, StubFor(a, env));
  v1::CreateBackupResponse resp;
  // A backup copies the whole store: raise --timeout for a large one.
  RETURN_IF_ERROR(Check(stub->CreateBackup(env.conn->Context().get(),
                                           v1::CreateBackupRequest(), &resp)));
  PrintCells(env, kColumns, {Row(resp.backup())});
  return absl::OkStatus();
}

absl::Status BackupList(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(auto stub, StubFor(a, env));
  v1::ListBackupsResponse resp;
  RETURN_IF_ERROR(Check(stub->ListBackups(env.conn->Context().get(),
                                          v1::ListBackupsRequest(), &resp)));
  std::vector<std::vector<std::string>> rows;
  for (const v1::Backup& b : resp.backups()) {
    rows.push_back(Row(b));
  }
  PrintCells(env, kColumns, rows);
  return absl::OkStatus();
}

}  // namespace

void RegisterBackupCommands(Registry& r) {
  r.Add({"backup", "create", "--service=accounts|pipeline|forecast|credit",
         "Takes an online backup of the service's store into its "
         "--backup_dir (ADMIN).",
         With({"service"}, {}), BackupCreate});
  r.Add({"backup", "list", "--service=accounts|pipeline|forecast|credit",
         "The backups the service keeps, oldest first (ADMIN). Restore one by "
         "starting the stopped service on an empty data dir with "
         "--restore_from_backup_dir and --restore_backup_id.",
         With({"service"}, {}), BackupList});
}

}  // namespace salesops::ctl
