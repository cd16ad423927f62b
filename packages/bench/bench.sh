#!/usr/bin/env bash
# Berth's benchmarks in one command: starts what they need (Postgres, dockerd in swarm mode, the
# Kubernetes control plane, as packages/testenv/test-all.sh does), builds the gateway and this
# package, then runs them and prints the report on stdout (progress on stderr).
#
#   bash packages/bench/bench.sh            quick mode (10 and 100 services), under 10 minutes
#   bash packages/bench/bench.sh --full     10, 100 and 1,000 services, more rounds
#   bash packages/bench/bench.sh --help     every option
#
# BERTH_SKIP_SWARM=1 / BERTH_SKIP_KUBERNETES=1 (or --skip-swarm / --skip-kubernetes) leave a backend out.
set -euo pipefail
cd "$(dirname "$0")/../.."
source packages/testenv/pnpm.sh
log() { printf 'berth bench: %s\n' "$*" >&2; }

for arg in "$@"; do
  case "$arg" in
    --skip-swarm) export BERTH_SKIP_SWARM=1 ;;
    --skip-kubernetes) export BERTH_SKIP_KUBERNETES=1 ;;
    --help | -h) [ -f packages/bench/dist/bench.js ] && exec node packages/bench/dist/bench.js --help ;;
  esac
done

if [ ! -d packages/bench/node_modules ]; then
  log "installing dependencies"
  $PNPM install --frozen-lockfile >&2
fi
log "building the gateway and the benchmarks"
$PNPM run build >&2
$PNPM exec tsc -b packages/bench >&2

log "starting Postgres"
export "$(bash packages/testenv/postgres/up.sh | tail -n 1)"
if [ "${BERTH_SKIP_SWARM:-0}" != 1 ]; then
  log "starting dockerd in swarm mode"
  bash packages/testenv/swarm/up.sh >/dev/null
  export BERTH_DOCKER_SOCKET=/var/run/docker.sock
fi
if [ "${BERTH_SKIP_KUBERNETES:-0}" != 1 ]; then
  log "starting the Kubernetes control plane (the first run on a machine builds it from Go modules)"
  kubeconfig_line=$(bash packages/testenv/k8s/up.sh | tail -n 1)
  export BERTH_KUBECONFIG="${kubeconfig_line#KUBECONFIG=}"
fi

exec node packages/bench/dist/bench.js "$@"
