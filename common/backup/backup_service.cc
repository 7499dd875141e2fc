#include "common/backup/backup_service.h"

#include "common/status/status.h"

namespace salesops {
namespace {

void ToProto(const BackupInfo& in, v1::Backup* out) {
  out->set_id(in.id);
  out->set_time_micros(in.time_micros);
  out->set_size_bytes(in.size_bytes);
  out->set_file_count(in.file_count);
  out->set_epoch(in.epoch);
  out->set_feed_sequence(in.last_sequence);
}

}  // namespace

grpc::Status BackupServiceImpl::CreateBackup(
    grpc::ServerContext* context, const v1::CreateBackupRequest*,
    v1::CreateBackupResponse* response) {
  if (absl::StatusOr<Principal> who =
          auth_->Authorize(*context, {Role::kAdmin});
      !who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<BackupInfo> taken =
      store_->CreateBackup(settings_.dir, settings_.keep);
  if (!taken.ok()) {
    return ToGrpc(taken.status());
  }
  ToProto(*taken, response->mutable_backup());
  response->set_backup_dir(settings_.dir);
  return grpc::Status::OK;
}

grpc::Status BackupServiceImpl::ListBackups(grpc::ServerContext* context,
                                            const v1::ListBackupsRequest*,
                                            v1::ListBackupsResponse* response) {
  if (absl::StatusOr<Principal> who =
          auth_->Authorize(*context, {Role::kAdmin});
      !who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<std::vector<BackupInfo>> backups =
      Store::ListBackups(settings_.dir);
  if (!backups.ok()) {
    return ToGrpc(backups.status());
  }
  for (const BackupInfo& b : *backups) {
    ToProto(b, response->add_backups());
  }
  response->set_backup_dir(settings_.dir);
  return grpc::Status::OK;
}

}  // namespace salesops
