#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh machine: installs what it needs (Debian
# packages, the pinned pnpm, schemathesis from PyPI), builds, starts every backend (Postgres,
# dockerd in swarm mode, a Kubernetes control plane built from Go modules, a real node beside its
# kwok nodes), then runs lint, typecheck and every jest test.
set -euo pipefail
cd "$(dirname "$0")/../.."
source packages/testenv/pnpm.sh
log() { printf 'berth test: %s\n' "$*" >&2; }

log "installing dependencies"
$PNPM install --frozen-lockfile
log "building (prisma client, typecheck)"
$PNPM run build

# the GraphQL IDE's browser test drives Debian's Chromium (puppeteer-core downloads no browser)
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (apt-get update first)"
  apt_log=$(mktemp)
  { apt-get update && apt-get install -y --no-install-recommends chromium; } >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; exit 1; }
fi

# the Maven plugin's tests run `mvn` goals with the plugin as installed in ~/.m2 (deps from Maven Central)
if ! command -v mvn >/dev/null 2>&1; then
  log "installing Maven (apt-get update first)"
  apt_log=$(mktemp)
  { apt-get update && apt-get install -y --no-install-recommends maven; } >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; exit 1; }
fi
log "installing the Maven plugin into ~/.m2"
mvn -B -q -Dstyle.color=never -f packages/maven-plugin/pom.xml install -DskipTests

log "starting Postgres"
export "$(bash packages/testenv/postgres/up.sh | tail -n 1)"
if [ "${BERTH_SKIP_SWARM:-0}" != 1 ]; then
  log "starting dockerd in swarm mode"
  bash packages/testenv/swarm/up.sh >/dev/null
  export BERTH_DOCKER_SOCKET=/var/run/docker.sock
fi
if [ "${BERTH_SKIP_KUBERNETES:-0}" != 1 ]; then
  log "starting the Kubernetes control plane (first run builds it from Go modules)"
  kubeconfig_line=$(bash packages/testenv/k8s/up.sh | tail -n 1)
  export BERTH_KUBECONFIG="${kubeconfig_line#KUBECONFIG=}"
  # A real node beside the kwok ones (first run builds kubelet, kube-proxy, CoreDNS and
  # metrics-server); it runs the Swarm testenv's images, so node-up.sh starts Docker too.
  log "starting the real Kubernetes node"
  bash packages/testenv/k8s/node-up.sh >/dev/null
fi

log "installing schemathesis (fuzzing)"
BERTH_SCHEMATHESIS=$(bash packages/testenv/fuzz/setup.sh | tail -n 1)
export BERTH_SCHEMATHESIS

log "lint"
$PNPM run lint

log "jest"
report=$(mktemp)
status=0
$PNPM test --json --outputFile="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' "$report" || true
exit "$status"
