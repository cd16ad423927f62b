# Shared settings and helpers for build.sh, up.sh and down.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this

# Pinned versions: one Kubernetes release for the control plane, kubectl and
# kwok's k8s.io modules (kwok v0.8.0 is built against k8s.io/* v0.36.1).
K8S_VERSION="${BERTH_K8S_VERSION:-v1.36.1}"   # k8s.io/kubernetes; staging modules at v0.36.1
ETCD_VERSION="${BERTH_ETCD_VERSION:-v3.6.8}"  # go.etcd.io/etcd/server/v3 (the release k8s v1.36.1 pins)
KWOK_VERSION="${BERTH_KWOK_VERSION:-v0.8.0}"  # sigs.k8s.io/kwok

BERTH_CACHE="${BERTH_CACHE:-${HOME:-/root}/.cache/berth}"
K8S_CACHE="$BERTH_CACHE/k8s"
VER_DIR="$K8S_CACHE/$K8S_VERSION"
BIN_DIR="$VER_DIR/bin"
STAGES="$VER_DIR/share/kwok-stages.yaml"

RUN_DIR="$K8S_CACHE/run"
LOG_DIR="$RUN_DIR/logs"
PID_DIR="$RUN_DIR/pids"
PKI_DIR="$RUN_DIR/pki"
PV_ROOT="/tmp/berth-k8s-pv"
KUBECONFIG_PATH="$RUN_DIR/kubeconfig"

API_PORT="${BERTH_K8S_API_PORT:-6443}"
ETCD_PORT="${BERTH_K8S_ETCD_PORT:-12379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))
KCM_PORT="${BERTH_K8S_KCM_PORT:-10257}"
SCHED_PORT="${BERTH_K8S_SCHEDULER_PORT:-10259}"
KWOK_PORT="${BERTH_K8S_KWOK_PORT:-10247}"
NODES="${BERTH_K8S_NODES:-3}"
STATIC_PVS="${BERTH_K8S_STATIC_PVS:-20}"

# Start order; stop runs in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[berth-k8s %s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

component_pid() { # NAME -> pid on stdout if that component is running, else non-zero
  local name="$1" pidf="$PID_DIR/$1.pid" pid exe
  [[ -f "$pidf" ]] || return 1
  pid="$(cat "$pidf" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # Guard against pid reuse: the process must run our binary.
  exe="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1)" || return 1
  [[ "$exe" == "$BIN_DIR/$name" || "$exe" == */berth/k8s/*/bin/"$name" ]] || return 1
  # A zombie is not alive.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]] || return 1
  echo "$pid"
}
component_alive() { component_pid "$1" >/dev/null; }

cluster_healthy() {
  [[ -f "$KUBECONFIG_PATH" && -f "$PKI_DIR/ca.crt" ]] || return 1
  local c
  for c in "${COMPONENTS[@]}"; do component_alive "$c" || return 1; done
  curl -fsS --max-time 3 --cacert "$PKI_DIR/ca.crt" "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1
}

port_in_use() { # PORT
  [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
}

stop_all() {
  local i name pid
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do
    name="${COMPONENTS[$i]}"
    if pid="$(component_pid "$name")"; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do component_alive "$name" || break; sleep 0.1; done
      if component_alive "$name"; then
        log "$name did not stop after 10s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do component_alive "$name" || break; sleep 0.1; done
      fi
    fi
    rm -f "$PID_DIR/$name.pid"
  done
}
