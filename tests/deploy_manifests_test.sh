#!/usr/bin/env bash
# Checks the deployment files in deploy/ (ctest DeployManifests.Validate):
#  1. systemd: `systemd-analyze verify` on each unit and salesops.target, with ExecStart
#     pointed at the binaries in the build dir (the services' and salesops-console); any warning
#     fails (verify itself exits 0 on most of them). The console's unit: hardened, in the
#     target, after the four services, calling them at the loopback ports their units listen
#     on, over TLS, serving HTTPS, with the image's assets directory.
#  2. Kubernetes: `kubectl kustomize` renders each overlay of deploy/k8s/overlays (no kubectl is
#     a failure, not a skip: scripts/setup.sh installs Debian's kubernetes-client); every
#     kustomization keeps to what kubectl 1.20's kustomize v2.0.3 knows (D49); every rendered
#     object and every example against the Kubernetes schema (npm kubernetes-models, installed
#     once into <build>/deploy-npm) plus the cross-checks of tests/deploy_validate.js: the
#     overlay's namespace, image and TLS Secret, TLS flags, gRPC probes on the health port,
#     a PodDisruptionBudget and NetworkPolicies per StatefulSet; the web console's Deployment
#     (tests/deploy_validate_console.js). No registry and no cache is a failure, not a skip.
#  3. Dockerfile: Debian 12 stages, the build packages come from scripts/setup.sh (its
#     PACKAGES or COMMAND_PACKAGES), the runtime packages exist in Debian 12 and hold every
#     library the service and console binaries load, a non-root USER in the final stage, the
#     ports exposed (service, health, metrics and console ports), salesops-console and its
#     front end built and copied to the assets directory the units and manifests pass.
# Usage: deploy_manifests_test.sh <source dir> [<build dir>]   (build dir default: <src>/build)
#   KUBECTL=<path> renders with another kubectl (e.g. Debian's 1.20 unpacked elsewhere).
set -euo pipefail
SRC=$(cd "${1:?usage: $0 <source dir> [<build dir>]}" && pwd)
BUILD=$(cd "${2:-$SRC/build}" && pwd)
SERVICES=(accounts pipeline forecast credit)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
start=$(date +%s)
# Where the image puts the console's front end: the destination of the Dockerfile's COPY of
# the build stage's /out/console/. The systemd unit, the manifests and the README pass it.
ASSETS_DIR=$(sed -n 's#^COPY --from=build /out/console/ \(/[^ ]*[^/ ]\)/\?$#\1#p' "$SRC/deploy/docker/Dockerfile")
[ -n "$ASSETS_DIR" ] || fail "deploy/docker/Dockerfile copies no /out/console/ (the console's front end)"

# ---- 1. systemd units
echo "== systemd: systemd-analyze verify deploy/systemd/*"
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze not installed" >&2; exit 1; }
cp "$SRC"/deploy/systemd/*.service "$SRC"/deploy/systemd/salesops.target "$TMP"/
for s in "${SERVICES[@]}"; do
  unit="$TMP/salesops-$s.service"
  bin="$BUILD/services/$s/salesops-$s"
  [ -f "$unit" ] || { fail "deploy/systemd/salesops-$s.service is missing"; continue; }
  [ -x "$bin" ] || { fail "$bin is missing: build the services first"; continue; }
  grep -q "^ExecStart=/usr/local/bin/salesops-$s " "$unit" \
    || fail "salesops-$s.service: ExecStart is not /usr/local/bin/salesops-$s"
  sed -i "s#^ExecStart=/usr/local/bin/salesops-$s #ExecStart=$bin #" "$unit"
  for want in "Type=simple" "Restart=on-failure" "KillSignal=SIGTERM" "StateDirectory=salesops/$s" \
              "NoNewPrivileges=yes" "ProtectSystem=strict" "PrivateTmp=yes" "DynamicUser=yes" \
              "LoadCredential=tokens:/etc/salesops/tokens" "EnvironmentFile=-/etc/salesops/$s.env" \
              "WantedBy=salesops.target"; do
    grep -qx "$want" "$unit" || fail "salesops-$s.service lacks $want"
  done
  stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\?$/\1/p' "$unit")
  [ -n "$stop" ] && [ "$stop" -gt 10 ] || fail "salesops-$s.service: TimeoutStopSec is not above the 10 s drain"
  grep -q -- "--data_dir=/var/lib/salesops/$s" "$unit" || fail "salesops-$s.service: --data_dir is not the StateDirectory"
  grep -qx "StateDirectory=salesops/backup/$s" "$unit" \
    && grep -qx "Environment=SALESOPS_BACKUP_DIR=/var/lib/salesops/backup/$s" "$unit" \
    || fail "salesops-$s.service: no backup StateDirectory named by SALESOPS_BACKUP_DIR"
  ! grep -q -- "--init" "$unit" || fail "salesops-$s.service: --init on every start would recreate a lost store"
  # TLS on by default: cert and key from credentials, peers verified against the CA.
  for want in "LoadCredential=tls.crt:/etc/salesops/tls/tls.crt" "LoadCredential=tls.key:/etc/salesops/tls/tls.key"; do
    grep -qx "$want" "$unit" || fail "salesops-$s.service lacks $want"
  done
  grep -q -- "^ExecStart=.* --tls_cert_file=%d/tls.crt --tls_key_file=%d/tls.key" "$unit" \
    || fail "salesops-$s.service: TLS is not on (--tls_cert_file=%d/tls.crt --tls_key_file=%d/tls.key)"
  if [ "$s" != accounts ]; then
    grep -qx "LoadCredential=ca.crt:/etc/salesops/tls/ca.crt" "$unit" && grep -q -- "^ExecStart=.* --peer_tls_ca_file=%d/ca.crt" "$unit" \
      || fail "salesops-$s.service: peers are not dialled over TLS (--peer_tls_ca_file=%d/ca.crt)"
  fi
done
# The headquarters' global forecast (issue 19) runs the forecast binary with --regions_file.
global_unit="$TMP/salesops-global-forecast.service"
if [ -f "$global_unit" ]; then
  grep -q -- "--regions_file=" "$global_unit" || fail "salesops-global-forecast.service lacks --regions_file"
  grep -q -- "^ExecStart=.* --tls_cert_file=%d/tls.crt --tls_key_file=%d/tls.key --peer_tls_ca_file=%d/ca.crt" "$global_unit" \
    || fail "salesops-global-forecast.service: TLS is not on"
  sed -i "s#^ExecStart=/usr/local/bin/salesops-forecast #ExecStart=$BUILD/services/forecast/salesops-forecast #" "$global_unit"
fi
# The web console: stateless, hardened like the services, calls the four at the loopback ports
# their units listen on (their SALESOPS_LISTEN), over TLS, and serves HTTPS.
console_unit="$TMP/salesops-console.service"
console_bin="$BUILD/console/salesops-console"
if [ ! -f "$console_unit" ]; then
  fail "deploy/systemd/salesops-console.service is missing"
else
  [ -x "$console_bin" ] || fail "$console_bin is missing: build salesops-console first"
  grep -q "^ExecStart=/usr/local/bin/salesops-console " "$console_unit" \
    || fail "salesops-console.service: ExecStart is not /usr/local/bin/salesops-console"
  sed -i "s#^ExecStart=/usr/local/bin/salesops-console #ExecStart=$console_bin #" "$console_unit"
  for want in "Type=simple" "Restart=on-failure" "KillSignal=SIGTERM" "NoNewPrivileges=yes" \
              "ProtectSystem=strict" "PrivateTmp=yes" "DynamicUser=yes" "MemoryDenyWriteExecute=yes" \
              "CapabilityBoundingSet=" "EnvironmentFile=-/etc/salesops/console.env" \
              "WantedBy=salesops.target" "PartOf=salesops.target" \
              "LoadCredential=ca.crt:/etc/salesops/tls/ca.crt"; do
    grep -qx "$want" "$console_unit" || fail "salesops-console.service lacks $want"
  done
  ! grep -q "^StateDirectory=\|^LoadCredential=tokens" "$console_unit" \
    || fail "salesops-console.service has a StateDirectory or the tokens: the console holds neither"
  exec_line=$(grep "^ExecStart=" "$console_unit")
  for s in "${SERVICES[@]}"; do
    grep -q "^After=.*salesops-$s.service" "$console_unit" && grep -q "^Wants=.*salesops-$s.service" "$console_unit" \
      || fail "salesops-console.service is not After= and Wants= salesops-$s"
    port=$(sed -n 's/^Environment=SALESOPS_LISTEN=.*:\([0-9]*\)$/\1/p' "$TMP/salesops-$s.service")
    [ -n "$port" ] && grep -q -- " --${s}_addr=127.0.0.1:$port " <<<"$exec_line " \
      || fail "salesops-console.service: --${s}_addr is not 127.0.0.1:<salesops-$s.service's SALESOPS_LISTEN port ${port:-?}>"
  done
  for want in "--tls_cert_file=%d/" "--tls_key_file=%d/" "--peer_tls_ca_file=%d/ca.crt" \
              "--assets_dir=$ASSETS_DIR" "--listen=0.0.0.0:7180"; do
    grep -q -- " $want" <<<"$exec_line" || fail "salesops-console.service: ExecStart lacks $want"
  done
  for cred in $(grep -o -- '--tls_\(cert\|key\)_file=%d/[^ ]*' <<<"$exec_line" | sed 's#.*%d/##'); do
    grep -q "^LoadCredential=$cred:" "$console_unit" || fail "salesops-console.service: no LoadCredential=$cred"
  done
  stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\?$/\1/p' "$console_unit")
  [ -n "$stop" ] || fail "salesops-console.service: no TimeoutStopSec"
fi
grep -q "^Wants=.*salesops-console.service" "$TMP/salesops.target" || fail "salesops.target does not want salesops-console.service"
# The peers each service needs (scripts/run.sh): ordered after, and given the peer token.
for pair in pipeline:accounts forecast:accounts forecast:pipeline credit:accounts credit:pipeline; do
  s=${pair%%:*}; p=${pair#*:}
  grep -q "^After=.*salesops-$p.service" "$TMP/salesops-$s.service" || fail "salesops-$s.service is not After= salesops-$p"
  grep -q "^Environment=SALESOPS_${p^^}_ADDR=" "$TMP/salesops-$s.service" || fail "salesops-$s.service lacks SALESOPS_${p^^}_ADDR"
  grep -q -- "--peer_token_file=" "$TMP/salesops-$s.service" || fail "salesops-$s.service lacks --peer_token_file"
done
if out=$(cd "$TMP" && systemd-analyze verify --man=no ./salesops-*.service ./salesops.target 2>&1); then
  if [ -n "$out" ]; then
    fail "systemd-analyze verify warned:"; echo "$out" >&2
  else
    echo "  ok   $(ls "$TMP"/salesops-*.service "$TMP"/salesops.target | wc -l) units verify cleanly"
  fi
else
  fail "systemd-analyze verify failed:"; echo "$out" >&2
fi

# ---- 2. Kubernetes: the kustomize overlays, rendered and validated
echo "== k8s: kubectl kustomize deploy/k8s/overlays/*, validated (kubernetes-models)"
KUBECTL=${KUBECTL:-kubectl}
command -v "$KUBECTL" >/dev/null \
  || { echo "FAIL: kubectl is not installed (scripts/setup.sh installs Debian's kubernetes-client)" >&2; exit 1; }
echo "  kubectl: $("$KUBECTL" version --client 2>/dev/null | head -1)"
command -v node >/dev/null && command -v npm >/dev/null \
  || { echo "FAIL: node and npm are needed to validate the Kubernetes manifests" >&2; exit 1; }
NPM_DIR="$BUILD/deploy-npm"
mkdir -p "$NPM_DIR"
(
  flock 9
  if [ ! -f "$NPM_DIR/node_modules/kubernetes-models/package.json" ] \
     || [ ! -f "$NPM_DIR/node_modules/js-yaml/package.json" ]; then
    echo "  installing kubernetes-models@4 js-yaml into $NPM_DIR (first run only)"
    [ -f "$NPM_DIR/package.json" ] || echo '{"name":"salesops-deploy-check","private":true}' >"$NPM_DIR/package.json"
    # A registry hiccup is retried (bounded: 3 attempts); a lasting failure fails the test.
    installed=0
    for attempt in 1 2 3; do
      if npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
           kubernetes-models@4 js-yaml@4 @kubernetes-models/prometheus-operator \
           >"$NPM_DIR/install.log" 2>&1; then
        installed=1
        break
      fi
      echo "  npm install attempt $attempt failed; retrying" >&2
      sleep $((attempt * 5))
    done
    if [ "$installed" -ne 1 ]; then
      cat "$NPM_DIR/install.log" >&2
      echo "FAIL: npm could not install kubernetes-models (no registry access?); the manifests cannot be validated" >&2
      exit 1
    fi
  else
    echo "  using cached kubernetes-models in $NPM_DIR"
  fi
) 9>"$BUILD/deploy-npm.lock" || exit 1
K8S="$SRC/deploy/k8s"
# Only kustomize v2.0.3's fields (kubectl 1.20, Debian 12), and `resources` only files: v2.0.3
# takes directories as `bases` only. A newer kubectl would accept more and hide the breakage.
allowed=" resources bases namespace images namePrefix nameSuffix commonLabels commonAnnotations patchesStrategicMerge patchesJson6902 configMapGenerator secretGenerator generatorOptions vars "
for k in $(find "$K8S" -name kustomization.yaml | sort); do
  for field in $(grep -oE '^[A-Za-z0-9]+:' "$k" | tr -d ':'); do
    [[ "$allowed" == *" $field "* ]] || fail "${k#$SRC/}: $field is not a kustomize v2.0.3 field (kubectl 1.20)"
  done
  for r in $(sed -n '/^resources:/,/^[^ #-]/p' "$k" | sed -n 's/^ *- *//p'); do
    [ -f "$(dirname "$k")/$r" ] || fail "${k#$SRC/}: resource $r is not a file (directories go in bases:)"
  done
done
# Every YAML under deploy/k8s is in an overlay's reach or an example.
for f in $(find "$K8S" -name '*.yaml' ! -name kustomization.yaml | sort); do
  case "${f#$K8S/}" in base/*|overlays/*|examples/*) ;; *) fail "deploy/k8s/${f#$K8S/} is in no base, overlay or examples" ;; esac
done
examples=$(find "$K8S/examples" -name '*.yaml' | sort | sed 's/.*/"&"/' | paste -sd, -)
# overlay namespace image TLS-secret console-TLS-secret Deployments StatefulSets: the
# parameters each overlay sets ("-": none).
while read -r overlay namespace image tls_secret console_tls deps sets; do
  rendered="$TMP/$overlay.yaml"
  if ! "$KUBECTL" kustomize "$K8S/overlays/$overlay" >"$rendered" 2>"$TMP/$overlay.err"; then
    fail "kubectl kustomize deploy/k8s/overlays/$overlay failed:"; cat "$TMP/$overlay.err" >&2; continue
  fi
  echo "  ok   kubectl kustomize deploy/k8s/overlays/$overlay: $(grep -c '^kind:' "$rendered") objects"
  sets_json=$(tr ',' '\n' <<<"$sets" | sed 's/.*/"&"/' | paste -sd, -)
  deps_json=$(tr ',' '\n' <<<"${deps#-}" | sed '/^$/d; s/.*/"&"/' | paste -sd, -)
  cat >"$TMP/$overlay.json" <<JSON
{"overlay": "$overlay", "rendered": "$rendered", "examples": [$examples], "namespace": "$namespace",
 "image": "$image", "tlsSecret": "$tls_secret", "statefulSets": [$sets_json],
 "deployments": [$deps_json], "consoleTlsSecret": "${console_tls#-}", "assetsDir": "$ASSETS_DIR"}
JSON
  node "$SRC/tests/deploy_validate.js" "$NPM_DIR" "$SRC/README.md" "$TMP/$overlay.json" || fail "overlay $overlay"
done <<'OVERLAYS'
regional salesops-europe registry.example.com/salesops:0.1.0 salesops-tls salesops-console-tls salesops-console salesops-accounts,salesops-pipeline,salesops-forecast,salesops-credit
global-forecast salesops-hq registry.example.com/salesops:0.1.0 salesops-hq-tls - - salesops-accounts,salesops-global-forecast
OVERLAYS
grep -q "PLACEHOLDER" "$K8S/examples/secret.example.yaml" || fail "examples/secret.example.yaml is not marked as placeholder"

# ---- 3. Dockerfile
echo "== docker: deploy/docker/Dockerfile"
DF="$SRC/deploy/docker/Dockerfile"
if [ ! -f "$DF" ]; then
  fail "deploy/docker/Dockerfile is missing"
else
  froms=$(grep -ciE '^FROM ' "$DF")
  [ "$froms" -ge 2 ] || fail "Dockerfile is not multi-stage"
  bad=$(grep -iE '^FROM ' "$DF" | grep -viE '^FROM debian:12(-slim)?( AS [a-z0-9_-]+)?$' || true)
  [ -z "$bad" ] || fail "Dockerfile stage not on debian:12: $bad"
  # The final stage: from its FROM to the end.
  final=$(awk 'toupper($1)=="FROM"{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$DF")
  user=$(printf '%s' "$final" | awk 'toupper($1)=="USER"{u=$2} END{print u}')
  case "${user%%:*}" in
    "" ) fail "Dockerfile final stage sets no USER" ;;
    root|0 ) fail "Dockerfile final stage runs as root" ;;
    * ) echo "  ok   final stage runs as USER $user" ;;
  esac
  printf '%s' "$final" | grep -q '^ENTRYPOINT\|^CMD' || fail "Dockerfile final stage has no CMD/ENTRYPOINT"
  for p in 7101 7102 7103 7104 8101 8102 8103 8104 9101 9102 9103 9104 7180; do
    printf '%s' "$final" | grep -E '^EXPOSE' | grep -qw "$p" || fail "Dockerfile does not EXPOSE $p"
  done
  if grep -q 'option(SALESOPS_BUILD_TESTS' "$SRC/CMakeLists.txt"; then
    grep -q -- '-DSALESOPS_BUILD_TESTS=OFF' "$DF" || fail "Dockerfile builds the tests"
  fi
  grep -q -- '-DCMAKE_BUILD_TYPE=Release' "$DF" || fail "Dockerfile does not build Release"
  # The console: built (with its front end, console/CMakeLists.txt), its sources copied in, the
  # binary beside the services and the assets where the units and manifests look.
  grep -qE '^ +salesops-console( |\\|$)' "$DF" || fail "Dockerfile does not build the salesops-console target"
  grep -qE '^COPY console ' "$DF" || fail "Dockerfile does not copy console/ into the build stage"
  grep -q '/build/console/salesops-console' "$DF" || fail "Dockerfile does not install salesops-console"
  grep -q '/build/console/assets' "$DF" || fail "Dockerfile does not install the console's front end"
  grep -qx '!console/' "$SRC/deploy/docker/Dockerfile.dockerignore" || fail "Dockerfile.dockerignore keeps console/ out of the context"
  for d in $(grep -E '^COPY [^-]' "$DF" | awk '{print $2}'); do
    [ -e "$SRC/$d" ] || fail "Dockerfile copies $d, which the repository does not have"
  done
  # Packages: build stage ⊆ scripts/setup.sh (PACKAGES, and the COMMAND_PACKAGES it installs
  # when a command is missing: nodejs, npm); runtime packages known to Debian 12's apt.
  setup_pkgs=$( (sed -n '/^PACKAGES=(/,/^)/p' "$SRC/scripts/setup.sh" | sed 's/#.*//' | tr ' ' '\n'
                 sed -n 's/^declare -A COMMAND_PACKAGES=(\(.*\))$/\1/p' "$SRC/scripts/setup.sh" | tr ' ' '\n' | sed 's/^\[[^]]*\]=//') \
               | grep -E '^[a-z0-9][a-z0-9.+-]+$' || true)
  stage=0
  while IFS= read -r line; do
    if [[ "$line" =~ ^FROM ]]; then stage=$((stage + 1)); fi
    printf '%s\t%s\n' "$stage" "$line"
  done <"$DF" | awk -F'\t' '{print $1 "\t" $2}' >"$TMP/df.staged"
  pkgs_of_stage() {  # the package names after "apt-get install ... " in stage $1
    awk -F'\t' -v s="$1" '$1==s{print $2}' "$TMP/df.staged" | sed 's/\\$//' | tr -s ' ' '\n' \
      | awk '/apt-get/{a=0} /^install$/{a=1; next} /^&&$/{a=0} a && $0 !~ /^-/ && $0 != ""' | sort -u
  }
  last=$(awk -F'\t' 'END{print $1}' "$TMP/df.staged")
  for p in $(pkgs_of_stage 1); do
    grep -qx "$p" <<<"$setup_pkgs" || fail "Dockerfile build stage installs $p, which scripts/setup.sh does not list"
  done
  runtime_pkgs=$(pkgs_of_stage "$last")
  [ -n "$runtime_pkgs" ] || fail "Dockerfile runtime stage installs no packages"
  if command -v apt-cache >/dev/null && grep -q 'VERSION_ID="12"' /etc/os-release 2>/dev/null; then
    for p in $runtime_pkgs; do
      apt-cache show "$p" >/dev/null 2>&1 || fail "runtime package $p is unknown to Debian 12's apt"
    done
    # Every shared library the service and console binaries load comes from a runtime package
    # (or libc). (one ldd per binary, one dpkg -S for all their libraries: dpkg -S is slow per call)
    bins=("$BUILD/console/salesops-console")
    for s in "${SERVICES[@]}"; do bins+=("$BUILD/services/$s/salesops-$s"); done
    libs=$(for bin in "${bins[@]}"; do
             [ -x "$bin" ] && ldd "$bin" | awk '$3 ~ /^\//{print $3}'
           done | xargs -r readlink -f | sort -u)
    owned=$(dpkg -S $libs 2>/dev/null | sed 's/:[^ ]* / /' || true)
    for lib in $libs; do
      pkg=$(awk -v l="$lib" '$2==l{print $1}' <<<"$owned" | head -1)
      if [ -z "$pkg" ]; then  # usr-merge: dpkg may know the /lib path only
        pkg=$(dpkg -S "${lib#/usr}" 2>/dev/null | head -1 || true); pkg=${pkg%%:*}
      fi
      case "$pkg" in
        libc6|libgcc-s1|libstdc++6) ;;  # in every Debian image
        "") fail "the binaries load $lib, which no installed package owns" ;;
        *) grep -qx "$pkg" <<<"$runtime_pkgs" || fail "the binaries need $pkg ($lib), missing from the runtime stage" ;;
      esac
    done
    echo "  ok   runtime packages: $(echo $runtime_pkgs)"
  else
    echo "  note not Debian 12: runtime package names not checked against apt"
  fi
fi

echo "== $(( $(date +%s) - start )) s"
if [ "$failures" -gt 0 ]; then
  echo "deploy_manifests_test: $failures failure(s)" >&2
  exit 1
fi
echo "deploy_manifests_test: all checks passed"
