#pragma once

// salesops.v1.BackupService over a Store (backup.proto, store.h "Backups"):
// online backups into the service's --backup_dir, keeping the newest
// --backup_keep. ADMIN only. Taking a backup runs on the calling thread and
// holds it until the copy is done; one at a time per store.

#include <string>

#include "common/server/auth.h"
#include "common/store/store.h"
#include "salesops/v1/backup.grpc.pb.h"

namespace salesops {

struct BackupSettings {
  std::string dir;  // "" = backups not configured (FAILED_PRECONDITION)
  int keep = 7;     // generations kept, >= 1
};

class BackupServiceImpl final : public v1::BackupService::Service {
 public:
  // Neither pointer is owned; both outlive the service.
  BackupServiceImpl(Store* store, const Authenticator* auth,
                    BackupSettings settings)
      : store_(store), auth_(auth), settings_(std::move(settings)) {}

  grpc::Status CreateBackup(grpc::ServerContext* context,
                            const v1::CreateBackupRequest* request,
                            v1::CreateBackupResponse* response) override;
  grpc::Status ListBackups(grpc::ServerContext* context,
                           const v1::ListBackupsRequest* request,
                           v1::ListBackupsResponse* response) override;

 private:
  Store* store_;
  const Authenticator* auth_;
  BackupSettings settings_;
};

}  // namespace salesops
