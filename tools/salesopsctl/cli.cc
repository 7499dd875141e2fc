#include "tools/salesopsctl/cli.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/version/build_info.h"
#include "tools/salesopsctl/rates.h"

namespace salesops::ctl {
namespace {

constexpr int kDefaultTimeoutSeconds = 30;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : fallback;
}

// The contents of the PEM file named by flag `flag` (INVALID_ARGUMENT naming
// the flag when it cannot be read or is empty).
absl::StatusOr<std::string> ReadPem(const std::string& flag,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path));
  }
  return text.str();
}

// Channel credentials from --tls_ca/--tls_cert/--tls_key (or SALESOPS_TLS_*):
// insecure without --tls_ca; TLS verified against the CA; mutual TLS when a
// client certificate and key are given too (both or neither).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const Args& args) {
  const std::string ca = args.Get("tls_ca", EnvOr("SALESOPS_TLS_CA", ""));
  const std::string cert = args.Get("tls_cert", EnvOr("SALESOPS_TLS_CERT", ""));
  const std::string key = args.Get("tls_key", EnvOr("SALESOPS_TLS_KEY", ""));
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert: must be given with --tls_key (both or neither)");
  }
  if (ca.empty()) {
    if (!cert.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert: needs --tls_ca (the CA that signed the server)");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions o;
  ASSIGN_OR_RETURN(o.pem_root_certs, ReadPem("tls_ca", ca));
  if (!cert.empty()) {
    ASSIGN_OR_RETURN(o.pem_cert_chain, ReadPem("tls_cert", cert));
    ASSIGN_OR_RETURN(o.pem_private_key, ReadPem("tls_key", key));
  }
  return grpc::SslCredentials(o);
}

}  // namespace

absl::StatusOr<Args> Args::Parse(int argc, const char* const* argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.rfind("--", 0) != 0) {
      a.positional_.push_back(word);
      continue;
    }
    const std::string body = word.substr(2);
    const size_t eq = body.find('=');
    const std::string name = body.substr(0, eq);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("argument ", i, ": \"", word, "\" names no flag"));
    }
    a.flags_.emplace(name,
                     eq == std::string::npos ? "true" : body.substr(eq + 1));
  }
  return a;
}

Args Args::FromMap(std::map<std::string, std::string> flags,
                   std::vector<std::string> positional) {
  Args a;
  for (auto& [k, v] : flags) {
    a.flags_.emplace(k, std::move(v));
  }
  a.positional_ = std::move(positional);
  return a;
}

bool Args::Has(const std::string& name) const { return flags_.count(name) > 0; }

std::string Args::Get(const std::string& name,
                      const std::string& fallback) const {
  auto it = flags_.find(name);
  return it == flags_.end() ? fallback : it->second;
}

absl::StatusOr<std::string> Args::Required(const std::string& name) const {
  std::string v = Get(name);
  if (v.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": required"));
  }
  return v;
}

absl::StatusOr<int64_t> Args::Int(const std::string& name,
                                  int64_t fallback) const {
  if (!Has(name)) {
    return fallback;
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(Get(name), &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": not a whole number: ", Get(name)));
  }
  return v;
}

absl::StatusOr<std::optional<int64_t>> Args::Money(const std::string& name,
                                                   int exponent) const {
  if (!Has(name)) {
    return std::nullopt;
  }
  absl::StatusOr<int64_t> v = money::Parse(Get(name), exponent);
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": ", v.status().message()));
  }
  return *v;
}

absl::StatusOr<std::optional<absl::CivilDay>> Args::Date(
    const std::string& name) const {
  if (!Has(name)) {
    return std::nullopt;
  }
  absl::CivilDay d;
  if (!absl::ParseCivilTime(Get(name), &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": not a date (YYYY-MM-DD): ", Get(name)));
  }
  return d;
}

absl::StatusOr<bool> Args::Bool(const std::string& name, bool fallback) const {
  if (!Has(name)) {
    return fallback;
  }
  const std::string v = absl::AsciiStrToLower(Get(name));
  if (v == "true" || v == "1" || v == "yes") {
    return true;
  }
  if (v == "false" || v == "0" || v == "no") {
    return false;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", name, ": must be true or false, got ", Get(name)));
}

std::vector<std::string> Args::List(const std::string& name) const {
  std::vector<std::string> out;
  auto [begin, end] = flags_.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    for (absl::string_view part :
         absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
      out.emplace_back(part);
    }
  }
  return out;
}

absl::Status Args::CheckKnown(const std::vector<std::string>& allowed) const {
  static const std::set<std::string> kGlobal = {
      "server", "accounts", "pipeline", "forecast", "credit",
      "token",  "output",   "timeout",  "currency", "help",
      "tls_ca", "tls_cert", "tls_key",  "version"};
  for (const auto& [name, value] : flags_) {
    if (kGlobal.count(name) == 0 &&
        std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": unknown flag for this command"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Connections>> Connections::FromArgs(
    const Args& args) {
  auto c = std::make_unique<Connections>();
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds,
                   Credentials(args));
  const std::string server =
      args.Get("server", EnvOr("SALESOPS_SERVER", "127.0.0.1"));
  const std::pair<const char*, int> services[] = {{"accounts", 7101},
                                                  {"pipeline", 7102},
                                                  {"forecast", 7103},
                                                  {"credit", 7104}};
  for (const auto& [name, port] : services) {
    const std::string env =
        absl::StrCat("SALESOPS_", absl::AsciiStrToUpper(name));
    std::string addr =
        args.Get(name, EnvOr(env.c_str(), absl::StrCat(server, ":", port)));
    c->channels_[name] = grpc::CreateChannel(addr, creds);
    c->addresses_[name] = std::move(addr);
  }
  c->token_ = args.Get("token", EnvOr("SALESOPS_TOKEN", ""));
  absl::StatusOr<int64_t> timeout = args.Int("timeout", kDefaultTimeoutSeconds);
  if (!timeout.ok()) {
    return timeout.status();
  }
  if (*timeout < 1 || *timeout > 3600) {
    return absl::InvalidArgumentError("--timeout: must be 1..3600 seconds");
  }
  c->timeout_seconds_ = static_cast<int>(*timeout);
  c->accounts_ = v1::AccountsService::NewStub(c->channels_["accounts"]);
  c->pipeline_ = v1::PipelineService::NewStub(c->channels_["pipeline"]);
  c->forecast_ = v1::ForecastService::NewStub(c->channels_["forecast"]);
  c->credit_ = v1::CreditService::NewStub(c->channels_["credit"]);
  return c;
}

std::shared_ptr<grpc::Channel> Connections::channel(
    const std::string& service) const {
  auto it = channels_.find(service);
  return it == channels_.end() ? nullptr : it->second;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ServiceFlagChannel(
    const Args& a, const Env& env) {
  ASSIGN_OR_RETURN(const std::string service, a.Required("service"));
  std::shared_ptr<grpc::Channel> channel = env.conn->channel(service);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--service: \"", service,
                     "\" is not one of accounts, pipeline, forecast, credit"));
  }
  return channel;
}

std::unique_ptr<grpc::ClientContext> Connections::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(timeout_seconds_));
  if (!token_.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  }
  return ctx;
}

absl::Status Check(const grpc::Status& s) { return FromGrpc(s); }

int ExitCodeOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
      return s.message().rfind("--", 0) == 0 ? kExitUsage : kExitFailed;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return kExitRetryable;
    default:
      return kExitFailed;
  }
}

void PrintDetails(const absl::Status& s, std::ostream& err) {
  const std::vector<FieldViolation> violations = FieldViolationsOf(s);
  if (violations.size() > 1) {
    err << "violations:\n";
    for (const FieldViolation& v : violations) {
      err << "  - " << (v.field.empty() ? "(request)" : v.field) << ": "
          << v.description << "\n";
    }
  }
  const std::string reason = ReasonOf(s);
  if (!reason.empty()) {
    err << "reason: " << reason << "\n";
  }
  if (std::optional<absl::Duration> delay = RetryDelayOf(s)) {
    err << "retry after: " << absl::FormatDuration(*delay) << "\n";
  }
}

void Registry::Add(Command c) { commands_.push_back(std::move(c)); }

const Command* Registry::Find(const std::string& group,
                              const std::string& verb) const {
  for (const Command& c : commands_) {
    if (c.group == group && c.verb == verb) {
      return &c;
    }
  }
  return nullptr;
}

void Registry::PrintHelp(std::ostream& out) const {
  out << "usage: salesopsctl [--server=HOST] [--token=T] "
         "[--output=table|json|csv] <group> <verb> [--flag=value ...]\n"
         "addresses: --accounts/--pipeline/--forecast/--credit=HOST:PORT or "
         "SALESOPS_<SERVICE>; token: SALESOPS_TOKEN\n"
         "TLS: --tls_ca=PEM (verify the services), with --tls_cert=PEM "
         "--tls_key=PEM for mutual TLS (or SALESOPS_TLS_CA/_CERT/_KEY)\n"
         "--version prints the version, commit and build type; --help this "
         "text\n"
         "exit codes: 0 ok; 1 permanent error; 2 usage (bad flags or "
         "arguments); 3 retryable error (UNAVAILABLE, DEADLINE_EXCEEDED, "
         "ABORTED, RESOURCE_EXHAUSTED: the same command may succeed later); "
         "4 an import that rejected rows\n";
  std::string group;
  for (const Command& c : commands_) {
    if (c.group != group) {
      group = c.group;
      out << "\n" << group << ":\n";
    }
    out << "  " << c.group << " " << c.verb << " " << c.usage << "\n      "
        << c.help << "\n";
  }
}

int Main(int argc, const char* const* argv, std::ostream& out,
         std::ostream& err) {
  Registry registry;
  RegisterAccountsCommands(registry);
  RegisterPipelineCommands(registry);
  RegisterForecastCommands(registry);
  RegisterCreditCommands(registry);
  RegisterTransferCommands(registry);
  RegisterDemoCommands(registry);
  RegisterAuditCommands(registry);
  RegisterBackupCommands(registry);
  RegisterWebhookCommands(registry);
  RegisterRatesCommands(registry);

  absl::StatusOr<Args> args = Args::Parse(argc, argv);
  if (!args.ok()) {
    err << "error: " << args.status().message() << "\n";
    return kExitUsage;
  }
  if (args->Has("version")) {
    out << salesops::VersionText("salesopsctl") << "\n";
    return kExitOk;
  }
  if (args->positional().size() < 2 || args->Has("help")) {
    registry.PrintHelp(args->Has("help") ? out : err);
    return args->Has("help") ? kExitOk : kExitUsage;
  }
  const Command* command =
      registry.Find(args->positional()[0], args->positional()[1]);
  if (command == nullptr) {
    err << "error: unknown command \"" << args->positional()[0] << " "
        << args->positional()[1] << "\" (salesopsctl --help lists them)\n";
    return kExitUsage;
  }
  Env env;
  env.out = &out;
  env.err = &err;
  const std::string format = args->Get("output", "table");
  if (format == "table") {
    env.format = Format::kTable;
  } else if (format == "json") {
    env.format = Format::kJson;
  } else if (format == "csv") {
    env.format = Format::kCsv;
  } else {
    err << "error: --output: must be table, json or csv, got " << format
        << "\n";
    return kExitUsage;
  }
  env.currency = args->Get("currency", "EUR");
  absl::StatusOr<std::unique_ptr<Connections>> conn =
      Connections::FromArgs(*args);
  if (!conn.ok()) {
    err << "error: " << conn.status().message() << "\n";
    return kExitUsage;
  }
  env.conn = conn->get();
  absl::Status s = args->CheckKnown(command->flags);
  if (s.ok()) {
    s = command->run(*args, env);
  }
  if (!s.ok()) {
    err << "error: " << absl::StatusCodeToString(s.code()) << ": "
        << s.message() << "\n";
    PrintDetails(s, err);
    const int code = ExitCodeOf(s);
    if (code == kExitUsage) {
      err << "usage: salesopsctl " << command->group << " " << command->verb
          << " " << command->usage << "\n";
    }
    return code;
  }
  return env.rows_rejected ? kExitRowsRejected : kExitOk;
}

}  // namespace salesops::ctl
