// salesopsctl against real binaries (issue 18, item 5): TLS (--tls_ca) and
// mutual TLS (--tls_cert/--tls_key) to a TLS-serving accounts, its exit codes
// (0 ok, 2 usage, 1 permanent, 3 retryable, 4 an import that rejected rows)
// and --version.
//
// Certificates are made with the openssl CLI as in mtls_e2e_test.cc: a CA, a
// server certificate for 127.0.0.1/localhost, a client certificate, and a
// client certificate of an unrelated CA. Two accounts binaries run: one
// serving TLS (no client certificate asked), one requiring a client
// certificate signed by the CA.
//
//   TlsCaTalksToATlsService: create and list over TLS; plaintext to the TLS
//     port and a CA that did not sign the server fail with exit 3.
//   MutualTlsNeedsTheClientCertificate: with --tls_cert/--tls_key it works;
//     without, or with another CA's certificate, the call fails (exit 3) and
//     nothing was created.
//   ExitCodesSeparateUsagePermanentRetryableAndPartial: 2, 1, 3 (a closed
//     loopback port), 4 (an import with a bad row), 0.
//   VersionAndHelp: --version prints the project version and a commit; --help
//     documents the exit codes and the TLS flags.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/testing/temp_dir.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Launch;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;

constexpr char kAdmin[] = "e2e-ctl-tls-admin-token";

struct CtlResult {
  int exit = -1;    // -1 when it did not exit normally within 60 s
  std::string log;  // stdout and stderr
};

std::ostream& operator<<(std::ostream& os, const CtlResult& r) {
  return os << "exit " << r.exit << "\n" << r.log;
}

class CtlTlsExitE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(MakeCertificates());
    WriteFile(dir_.Sub("tokens"), TokenLine(kAdmin, "admin", "ADMIN"));
    WriteFile(dir_.Sub("peer.token"), "unused-peer-token\n");
    tls_ = Start("tls", /*require_client_cert=*/false);
    ASSERT_GT(tls_.port, 0) << (tls_.process ? tls_.process->Log() : "");
    mtls_ = Start("mtls", /*require_client_cert=*/true);
    ASSERT_GT(mtls_.port, 0) << (mtls_.process ? mtls_.process->Log() : "");
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const Service* s : {&tls_, &mtls_}) {
        if (s->process != nullptr) {
          std::cerr << "---- log of pid " << s->process->pid() << "\n"
                    << s->process->Log() << "\n";
        }
      }
    }
  }

  void MakeCertificates() {
    ASSERT_TRUE(e2e::MakeTestCertificates(
        dir_.path(), {"ca", "other-ca"},
        {{"server", "ca", e2e::LoopbackCertExt(false), ""},
         {"client", "ca", e2e::kClientCertExt, ""},
         {"other-client", "other-ca", e2e::kClientCertExt, ""}}));
  }

  Service Start(const std::string& name, bool require_client_cert) {
    std::vector<std::string> args = {
        SALESOPS_ACCOUNTS_BIN,
        "--listen=127.0.0.1:0",
        "--metrics_listen=127.0.0.1:0",
        "--auth=tokens",
        "--tokens_file=" + dir_.Sub("tokens"),
        "--peer_token_file=" + dir_.Sub("peer.token"),
        "--data_dir=" + dir_.Sub(name + ".db"),
        "--init",
        "--currency=EUR",
        "--time_zone=UTC",
        "--sync_writes=false",
        "--tls_cert_file=" + dir_.Sub("server.pem"),
        "--tls_key_file=" + dir_.Sub("server.key")};
    if (require_client_cert) {
      args.push_back("--tls_client_ca_file=" + dir_.Sub("ca.pem"));
    }
    return Launch(args, "accounts");
  }

  // Runs salesopsctl with `args` (60 s bound).
  CtlResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), SALESOPSCTL_BIN);
    CtlResult r;
    std::unique_ptr<testing::Process> p = testing::Process::Start(args);
    if (p == nullptr) {
      return r;
    }
    std::optional<int> status = p->WaitExit(absl::Seconds(60));
    r.log = p->Log();
    if (status && WIFEXITED(*status)) {
      r.exit = WEXITSTATUS(*status);
    }
    return r;
  }

  // salesopsctl to `service` with the ADMIN token, a 5 s deadline and `tls`.
  CtlResult Ctl(const Service& service, const std::vector<std::string>& tls,
                const std::vector<std::string>& words) {
    std::vector<std::string> args = {
        absl::StrCat("--accounts=127.0.0.1:", service.port),
        absl::StrCat("--token=", kAdmin), "--timeout=5"};
    args.insert(args.end(), tls.begin(), tls.end());
    args.insert(args.end(), words.begin(), words.end());
    return Run(args);
  }

  std::vector<std::string> CaOnly() const {
    return {"--tls_ca=" + dir_.Sub("ca.pem")};
  }
  std::vector<std::string> Mutual(const std::string& client = "client") const {
    return {"--tls_ca=" + dir_.Sub("ca.pem"),
            "--tls_cert=" + dir_.Sub(client + ".pem"),
            "--tls_key=" + dir_.Sub(client + ".key")};
  }

  testing::TempDir dir_;
  Service tls_;
  Service mtls_;
};

TEST_F(CtlTlsExitE2eTest, TlsCaTalksToATlsService) {
  CtlResult create =
      Ctl(tls_, CaOnly(), {"accounts", "create", "--name=Over TLS GmbH"});
  ASSERT_EQ(create.exit, 0) << create;
  CtlResult list = Ctl(tls_, CaOnly(), {"accounts", "list", "--output=csv"});
  ASSERT_EQ(list.exit, 0) << list;
  EXPECT_TRUE(absl::StrContains(list.log, "Over TLS GmbH")) << list;

  // Plaintext to the TLS port: the handshake fails, UNAVAILABLE, exit 3.
  CtlResult plain = Ctl(tls_, {}, {"accounts", "list"});
  EXPECT_EQ(plain.exit, 3) << plain;
  EXPECT_TRUE(absl::StrContains(plain.log, "error: UNAVAILABLE")) << plain;
  // A CA that did not sign the server's certificate: refused, exit 3.
  CtlResult wrong_ca =
      Ctl(tls_, {"--tls_ca=" + dir_.Sub("other-ca.pem")}, {"accounts", "list"});
  EXPECT_EQ(wrong_ca.exit, 3) << wrong_ca;
}

TEST_F(CtlTlsExitE2eTest, MutualTlsNeedsTheClientCertificate) {
  CtlResult create =
      Ctl(mtls_, Mutual(), {"accounts", "create", "--name=Mutual AG"});
  ASSERT_EQ(create.exit, 0) << create;
  CtlResult list = Ctl(mtls_, Mutual(), {"accounts", "list", "--output=csv"});
  ASSERT_EQ(list.exit, 0) << list;
  EXPECT_TRUE(absl::StrContains(list.log, "Mutual AG")) << list;

  // Without a client certificate, or with another CA's: refused.
  CtlResult no_cert =
      Ctl(mtls_, CaOnly(), {"accounts", "create", "--name=Intruder One"});
  EXPECT_EQ(no_cert.exit, 3) << no_cert;
  CtlResult other = Ctl(mtls_, Mutual("other-client"),
                        {"accounts", "create", "--name=Intruder Two"});
  EXPECT_EQ(other.exit, 3) << other;
  list = Ctl(mtls_, Mutual(), {"accounts", "list", "--output=csv"});
  ASSERT_EQ(list.exit, 0) << list;
  EXPECT_FALSE(absl::StrContains(list.log, "Intruder")) << list;

  // A certificate without its key is a usage mistake.
  CtlResult half = Ctl(mtls_,
                       {"--tls_ca=" + dir_.Sub("ca.pem"),
                        "--tls_cert=" + dir_.Sub("client.pem")},
                       {"accounts", "list"});
  EXPECT_EQ(half.exit, 2) << half;
  EXPECT_TRUE(absl::StrContains(half.log, "--tls_key")) << half;
  CtlResult missing =
      Ctl(mtls_, {"--tls_ca=" + dir_.Sub("nope.pem")}, {"accounts", "list"});
  EXPECT_EQ(missing.exit, 2) << missing;
}

TEST_F(CtlTlsExitE2eTest, ExitCodesSeparateUsagePermanentRetryableAndPartial) {
  // 2: usage (an unknown flag, an unknown command, a bad value).
  CtlResult typo = Ctl(tls_, CaOnly(), {"accounts", "list", "--tierr=GOLD"});
  EXPECT_EQ(typo.exit, 2) << typo;
  CtlResult unknown = Ctl(tls_, CaOnly(), {"accounts", "frobnicate"});
  EXPECT_EQ(unknown.exit, 2) << unknown;
  CtlResult no_name = Ctl(tls_, CaOnly(), {"accounts", "create"});
  EXPECT_EQ(no_name.exit, 2) << no_name;

  // 1: a permanent error (NOT_FOUND).
  CtlResult missing =
      Ctl(tls_, CaOnly(), {"accounts", "get", "--id=acc_does_not_exist"});
  EXPECT_EQ(missing.exit, 1) << missing;
  EXPECT_TRUE(absl::StrContains(missing.log, "error: NOT_FOUND")) << missing;

  // 3: retryable (UNAVAILABLE: nothing listens on the port).
  const int closed = e2e::FreeLoopbackPort();
  ASSERT_GT(closed, 0);
  CtlResult down = Run({absl::StrCat("--accounts=127.0.0.1:", closed),
                        absl::StrCat("--token=", kAdmin), "--timeout=5",
                        "accounts", "list"});
  EXPECT_EQ(down.exit, 3) << down;
  EXPECT_TRUE(absl::StrContains(down.log, "error: UNAVAILABLE")) << down;

  // 4: an import that ran but rejected a row (an unknown tier); 0 once every
  // row is good (the good rows are not created twice).
  const std::string csv = dir_.Sub("accounts.csv");
  WriteFile(csv,
            "name,external_id,tier\n"
            "Import One,I-1,GOLD\n"
            "Import Two,I-2,DIAMOND\n"
            "Import Three,I-3,\n");
  CtlResult partial =
      Ctl(tls_, CaOnly(), {"import", "accounts", "--file=" + csv});
  EXPECT_EQ(partial.exit, 4) << partial;
  EXPECT_TRUE(
      absl::StrContains(partial.log, "imported 2, rejected 1, of 3 rows"))
      << partial;
  WriteFile(csv,
            "name,external_id,tier\n"
            "Import One,I-1,GOLD\n"
            "Import Three,I-3,\n");
  CtlResult whole =
      Ctl(tls_, CaOnly(), {"import", "accounts", "--file=" + csv});
  EXPECT_EQ(whole.exit, 0) << whole;
  EXPECT_TRUE(absl::StrContains(whole.log, "rejected 0")) << whole;
}

TEST_F(CtlTlsExitE2eTest, VersionAndHelp) {
  CtlResult version = Run({"--version"});
  EXPECT_EQ(version.exit, 0) << version;
  EXPECT_TRUE(absl::StartsWith(
      version.log,
      absl::StrCat("salesopsctl ", SALESOPS_PROJECT_VERSION, " (commit ")))
      << version;
  EXPECT_FALSE(absl::StrContains(version.log, "(commit )")) << version;

  CtlResult help = Run({"--help"});
  EXPECT_EQ(help.exit, 0) << help;
  for (const char* text :
       {"exit codes: 0 ok; 1 permanent error; 2 usage", "3 retryable error",
        "4 an import that rejected rows", "--tls_ca=PEM", "--tls_cert=PEM",
        "--tls_key=PEM", "--version"}) {
    EXPECT_TRUE(absl::StrContains(help.log, text)) << text << "\n" << help;
  }
}

}  // namespace
}  // namespace salesops
