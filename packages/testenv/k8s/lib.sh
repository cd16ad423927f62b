# Shared settings and helpers for build.sh, up.sh and down.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this

# Pinned versions: one Kubernetes release for the control plane, kubectl and
# kwok's k8s.io modules (kwok v0.8.0 is built against k8s.io/* v0.36.1).
K8S_VERSION="${BERTH_K8S_VERSION:-v1.36.1}"   # k8s.io/kubernetes; staging modules at v0.36.1
ETCD_VERSION="${BERTH_ETCD_VERSION:-v3.6.8}"  # go.etcd.io/etcd/server/v3 (the release k8s v1.36.1 pins)
KWOK_VERSION="${BERTH_KWOK_VERSION:-v0.8.0}"  # sigs.k8s.io/kwok
# The real node (node-build.sh, node-up.sh): kubelet and kube-proxy come from K8S_VERSION.
COREDNS_VERSION="${BERTH_COREDNS_VERSION:-v1.13.1}"               # github.com/coredns/coredns
METRICS_SERVER_VERSION="${BERTH_METRICS_SERVER_VERSION:-v0.8.0}"  # sigs.k8s.io/metrics-server

BERTH_CACHE="${BERTH_CACHE:-${HOME:-/root}/.cache/berth}"
K8S_CACHE="$BERTH_CACHE/k8s"
VER_DIR="$K8S_CACHE/$K8S_VERSION"
BIN_DIR="$VER_DIR/bin"
STAGES="$VER_DIR/share/kwok-stages.yaml"
NODE_BIN_DIR="$VER_DIR/node/bin"   # kubelet, kube-proxy, coredns, metrics-server

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

# The real node (node-up.sh). Pods get there only with the nodeSelector NODE_LABEL (a Berth spec's
# `node.labels.berth-runtime == containers`); the taint keeps every other pod on the kwok nodes.
NODE_NAME="${BERTH_K8S_NODE_NAME:-berth-node}"
NODE_BRIDGE=berth-cni0
NODE_SUBNET="${BERTH_K8S_NODE_SUBNET:-10.88.0.0/16}"
NODE_IP="${BERTH_K8S_NODE_IP:-10.88.0.1}"   # the bridge's address: node IP, cluster DNS, metrics-server
NODE_LABEL="berth-runtime=containers"
NODE_TAINT_KEY="berth.dev/real-node"
NODE_TAINT="$NODE_TAINT_KEY=true"
KUBELET_PORT=10350
KUBELET_HEALTHZ_PORT=10348
KUBE_PROXY_HEALTHZ_PORT=10356
KUBE_PROXY_METRICS_PORT=10349
COREDNS_READY_PORT=10353
METRICS_SERVER_PORT=10351
NODE_RUN="$RUN_DIR/node"
NODE_PIDS="$NODE_RUN/pids"
NODE_LOGS="$LOG_DIR/node"

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
  exe="$( (tr '\0' '\n' <"/proc/$pid/cmdline") 2>/dev/null | head -n1)" || return 1
  [[ "$exe" == "$BIN_DIR/$name" || "$exe" == */berth/k8s/*/bin/"$name" ]] || return 1
  # A zombie is not alive.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]] || return 1
  echo "$pid"
}
component_alive() { component_pid "$1" >/dev/null; }

# wait_exec PID CHECK...: after `nohup setsid BIN &`, $! runs bash, then nohup, then setsid, and only
# then BIN; CHECK (component_pid or node_pid, which compare the command line) says no until then.
# Waits up to 10 s for CHECK while PID lives; the status is CHECK's.
wait_exec() {
  local pid="$1" i; shift
  for i in $(seq 1 100); do
    "$@" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  "$@" >/dev/null
}

# node_pid NAME EXE -> pid of a live process started by node-up.sh running EXE
node_pid() {
  local pidf="$NODE_PIDS/$1.pid" pid exe
  [[ -f "$pidf" ]] || return 1
  pid="$(cut -d' ' -f1 "$pidf" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe="$( (tr '\0' '\n' <"/proc/$pid/cmdline") 2>/dev/null | head -n1)" || return 1
  [[ "$exe" == "$2" ]] || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]] || return 1
  echo "$pid"
}

# The node's metrics APIService, unless its metrics-server runs: an aggregated API that does not
# answer keeps every namespace from being deleted (node-up.sh registers it again).
drop_dead_metrics_api() {
  node_pid metrics-server "$NODE_BIN_DIR/metrics-server" >/dev/null && return 0
  rm -f "$NODE_RUN/node-objects.applied"
  "$BIN_DIR/kubectl" --kubeconfig="$KUBECONFIG_PATH" delete apiservice v1beta1.metrics.k8s.io --ignore-not-found >/dev/null 2>&1 || true
}

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

# ------------------------------------------------------------ Go builds
# Go environment for every build here: caches under the berth cache, no toolchain downloads.
go_env() {
  GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
  [[ -x "$GO" ]] || die "go not found (set GO=/path/to/go)"
  export GOMODCACHE="${BERTH_GOMODCACHE:-$BERTH_CACHE/go/mod}"
  export GOCACHE="${BERTH_GOCACHE:-$BERTH_CACHE/go/build}"
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
  export GOFLAGS="-trimpath -buildvcs=false -mod=mod"
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  export GOWORK=off
  mkdir -p "$GOMODCACHE" "$GOCACHE"
  go_ver="$("$GO" env GOVERSION)"
}

# Refuse early when a module asks for a newer Go than the installed one; prints its go.mod path.
check_go_directive() { # module version
  local mod="$1" ver="$2" gomod need
  gomod="$(cd / && GOFLAGS='' "$GO" mod download -json "$mod@$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -n "$gomod" && -f "$gomod" ]] || die "cannot download go.mod of $mod@$ver"
  need="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  log "$mod@$ver: go directive ${need:-none}"
  if [[ -n "$need" ]] && [[ "$(printf '%s\n%s\n' "go$need" "$go_ver" | sort -V | tail -1)" != "$go_ver" ]]; then
    die "$mod@$ver needs go $need but $go_ver is installed (GOTOOLCHAIN=local)"
  fi
  printf '%s\n' "$gomod"
}

# write_k8s_module DIR: a throwaway module requiring k8s.io/kubernetes K8S_VERSION, with every
# k8s.io/* staging module (replaced with ./staging/... in k8s's go.mod) replaced by its published
# release (`go install` refuses k8s.io/kubernetes itself). Sets K8S_LDFLAGS (version stamps).
write_k8s_module() {
  local work="$1" k8s_gomod staging_version n_repl k8s_minor build_date p
  k8s_gomod="$(check_go_directive k8s.io/kubernetes "$K8S_VERSION")"
  staging_version="v0.${K8S_VERSION#v1.}"
  rm -rf "$work"; mkdir -p "$work"
  {
    echo "module berth.local/k8s-build"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$k8s_gomod" \
      | awk -v v="$staging_version" '$2=="=>" && $3 ~ /^\.\/staging\// {printf "\t%s => %s %s\n", $1, $1, v}'
    echo ")"
  } > "$work/go.mod"
  n_repl=$(grep -c ' => ' "$work/go.mod")
  [[ "$n_repl" -gt 20 ]] || die "expected >20 staging replaces in $work/go.mod, got $n_repl"
  log "throwaway module $work/go.mod: require k8s.io/kubernetes $K8S_VERSION, $n_repl staging modules -> $staging_version"
  k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  K8S_LDFLAGS="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    K8S_LDFLAGS+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$k8s_minor"
    K8S_LDFLAGS+=" -X $p.gitTreeState=clean -X $p.buildDate=$build_date -X $p.gitCommit=0000000000000000000000000000000000000000"
  done
}
