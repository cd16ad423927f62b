#!/usr/bin/env bash
# Stop the test cluster started by up.sh and the real node of node-up.sh (by pid files). Keeps the build cache.
# Cluster state (etcd data, certificates) is kept too, so up.sh resumes it;
# `down.sh --purge` also deletes the run directory for a fresh cluster next time.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

purge=false
case "${1:-}" in
  --purge) purge=true ;;
  "") ;;
  *) die "usage: $0 [--purge]" ;;
esac

mkdir -p "$RUN_DIR"
exec 8>"$RUN_DIR/up.lock"
flock 8

# The real node (node-up.sh) first. Its APIService goes too: an aggregated API that does not answer
# keeps namespaces from being deleted.
if [[ -d "$NODE_PIDS" ]]; then
  for name in metrics-server coredns kube-proxy kubelet containerd; do
    exe="$NODE_BIN_DIR/$name"; [[ "$name" == containerd ]] && exe=/usr/bin/containerd
    if pid="$(node_pid "$name" "$exe")"; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do node_pid "$name" "$exe" >/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$NODE_PIDS/$name.pid"
  done
  if cluster_healthy; then drop_dead_metrics_api; fi
fi
stop_all
if $purge; then
  log "purging cluster state in $RUN_DIR, $PV_ROOT and /tmp/hostpath_pv"
  rm -rf "$RUN_DIR/etcd-data" "$RUN_DIR/pki" "$RUN_DIR/pids" "$RUN_DIR/logs" \
         "$RUN_DIR/kubeconfig" "$RUN_DIR/kwok.yaml" "$RUN_DIR/fake-container.log" "$RUN_DIR/bootstrap.yaml" \
         "$RUN_DIR/serving-certs" "$PV_ROOT" /tmp/hostpath_pv
fi
log "stopped (build cache kept in $VER_DIR)"
