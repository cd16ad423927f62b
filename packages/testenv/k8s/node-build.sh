#!/usr/bin/env bash
# Build what a real node needs, once per machine, from Go modules: kubelet and kube-proxy (the
# control plane's Kubernetes release, same version stamps), CoreDNS (cluster DNS) and
# metrics-server (metrics.k8s.io).
#
# Output: ${BERTH_CACHE:-$HOME/.cache/berth}/k8s/<K8S_VERSION>/node/bin/, with its own stamp
# (node/.complete); re-runs with the same versions return at once. Uses the control plane's Go
# caches (build.sh), so kubelet and kube-proxy mostly reuse its compiled packages.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

NODE_DIR="$(dirname "$NODE_BIN_DIR")"
STAMP="$NODE_DIR/.complete"
STAMP_CONTENT="k8s=$K8S_VERSION coredns=$COREDNS_VERSION metrics-server=$METRICS_SERVER_VERSION"
BINARIES=(kubelet kube-proxy coredns metrics-server)

is_complete() {
  [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$STAMP_CONTENT" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$NODE_BIN_DIR/$b" ]] || return 1; done
}

if is_complete; then
  log "up to date: $NODE_BIN_DIR ($STAMP_CONTENT)"
  exit 0
fi

mkdir -p "$K8S_CACHE"
# The control plane's build lock: both builds share the Go caches, and on a fresh machine the
# kubelet build should come after the control plane's (its packages are then compiled already).
exec 9>"$K8S_CACHE/build.lock"
log "waiting for build lock $K8S_CACHE/build.lock"
flock 9
if is_complete; then log "built by another process: $NODE_BIN_DIR"; exit 0; fi

go_env
log "using $go_ver ($GO); GOMODCACHE=$GOMODCACHE GOCACHE=$GOCACHE"
rm -f "$STAMP"
mkdir -p "$NODE_BIN_DIR"
start=$(date +%s)

# ------------------------------------------------------- kubelet, kube-proxy
WORK="$K8S_CACHE/work/node-$K8S_VERSION"
write_k8s_module "$WORK"
pkgs=(k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
log "building kubelet, kube-proxy $K8S_VERSION"
t=$(date +%s)
( cd "$WORK" && "$GO" get "${pkgs[@]/%/@$K8S_VERSION}" >&2 \
  && nice "$GO" build -ldflags="$K8S_LDFLAGS" -o "$NODE_BIN_DIR/" "${pkgs[@]}" >&2 )
log "kubelet, kube-proxy built in $(( $(date +%s) - t ))s"

# ------------------------------------------------- CoreDNS, metrics-server
# Neither go.mod carries replace directives, so plain `go install` builds them.
check_go_directive github.com/coredns/coredns "$COREDNS_VERSION" >/dev/null
check_go_directive sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" >/dev/null
for target in "github.com/coredns/coredns@$COREDNS_VERSION" "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"; do
  log "building $target"
  t=$(date +%s)
  GOBIN="$NODE_BIN_DIR" GOFLAGS="-trimpath -buildvcs=false" nice "$GO" install -ldflags="-s -w" "$target" >&2
  log "$target built in $(( $(date +%s) - t ))s"
done

for b in "${BINARIES[@]}"; do [[ -x "$NODE_BIN_DIR/$b" ]] || die "missing $NODE_BIN_DIR/$b"; done
"$NODE_BIN_DIR/kubelet" --version >&2
"$NODE_BIN_DIR/coredns" -version >&2
printf '%s' "$STAMP_CONTENT" > "$STAMP"
log "done in $(( $(date +%s) - start ))s: $NODE_BIN_DIR ($(du -sh "$NODE_BIN_DIR" | cut -f1))"
