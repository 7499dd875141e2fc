#!/usr/bin/env bash
# Installs the Debian 12 packages SalesOps builds and tests with (ARCHITECTURE.md §2), only when
# some are missing. Safe to run again. Needs root or sudo for apt-get.
set -euo pipefail

PACKAGES=(
  # build
  cmake g++ make ccache pkg-config
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  librocksdb-dev prometheus-cpp-dev libssl-dev
  libicu-dev           # ISO 4217 currency data: minor-unit exponents, active codes (D38)
  libcpp-httplib-dev   # the HTTP/JSON (Connect) listener and webhook deliveries (D35, D36)
  # tests
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev   # the fuzz targets: libFuzzer, ASan and UBSan runtimes (D26)
  prometheus   # promtool: the tests check every /metrics page with `promtool check metrics`
  grpc-proto   # grpc/health/v1/health.proto for health-check clients
  openssl      # the TLS tests make their own certificates
  curl
  tzdata       # time zones for the fiscal calendar (--time_zone)
  systemd      # systemd-analyze verify checks deploy/systemd
  # error_details_e2e_test runs tests/clients/error_details.py under /usr/bin/python3: a Python
  # integrator's grpcio client decoding our google.rpc error details (issue 17)
  python3-grpcio python3-protobuf
  # the web console's browser tests drive Debian's headless Chromium with npm puppeteer-core
  # (issue 22, D66)
  chromium
)
# Commands that may come from another source than Debian's package (e.g. Node.js from
# NodeSource ships its own npm, which Debian's npm package conflicts with): installed only when
# the command is missing. The deploy test validates deploy/k8s with npm kubernetes-models (D24)
# and renders its kustomize overlays with `kubectl kustomize` (Debian's kubernetes-client is
# kubectl 1.20, kustomize v2.0.3: the overlays keep to it, D49; a newer kubectl, e.g. Google
# Cloud SDK's, renders them too).
declare -A COMMAND_PACKAGES=([node]=nodejs [npm]=npm [kubectl]=kubernetes-client)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
for cmd in "${!COMMAND_PACKAGES[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing+=("${COMMAND_PACKAGES[$cmd]}")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
