#!/usr/bin/env bash
# Build a Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl), etcd and kwok from Go modules, once per machine.
#
# Output: ${BERTH_CACHE:-$HOME/.cache/berth}/k8s/<K8S_VERSION>/bin/
# A stamp file (.complete) in that directory marks a finished build; re-runs
# with the same versions return at once.
#
# Only the Go module proxy is needed (no GitHub, no container registry).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"   # versions (K8S_VERSION, ETCD_VERSION, KWOK_VERSION) and paths

STAMP="$VER_DIR/.complete"
STAMP_CONTENT="k8s=$K8S_VERSION etcd=$ETCD_VERSION kwok=$KWOK_VERSION"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)

is_complete() {
  [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$STAMP_CONTENT" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || return 1; done
  [[ -s "$STAGES" ]]
}

if is_complete; then
  log "up to date: $BIN_DIR ($STAMP_CONTENT)"
  exit 0
fi

mkdir -p "$K8S_CACHE"
# Serialise concurrent builds (e.g. two test runs starting at once).
exec 9>"$K8S_CACHE/build.lock"
log "waiting for build lock $K8S_CACHE/build.lock"
flock 9
if is_complete; then log "built by another process: $BIN_DIR"; exit 0; fi

go_env
log "using $go_ver ($GO); GOMODCACHE=$GOMODCACHE GOCACHE=$GOCACHE"

rm -f "$STAMP"
mkdir -p "$BIN_DIR"
start=$(date +%s)

# ---------------------------------------------------------------- kubernetes
WORK="$K8S_CACHE/work/kubernetes-$K8S_VERSION"
write_k8s_module "$WORK"

K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
pkgs=(); for c in "${K8S_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
log "resolving modules for ${K8S_CMDS[*]} (go get; first run downloads ~1 GB of modules)"
( cd "$WORK" && "$GO" get "${pkgs[@]/%/@$K8S_VERSION}" >&2 )
log "compiling ${K8S_CMDS[*]} (first run: tens of minutes on 2 cores)"
t=$(date +%s)
( cd "$WORK" && "$GO" build -ldflags="$K8S_LDFLAGS" -o "$BIN_DIR/" "${pkgs[@]}" >&2 )
log "kubernetes built in $(( $(date +%s) - t ))s"

# ---------------------------------------------------------------------- etcd
# etcd's own go.mod files carry replace directives, so `go install` refuses
# them: build from a throwaway module instead.
check_go_directive go.etcd.io/etcd/server/v3 "$ETCD_VERSION" >/dev/null
EWORK="$K8S_CACHE/work/etcd-$ETCD_VERSION"
rm -rf "$EWORK"; mkdir -p "$EWORK"
printf 'module berth.local/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$EWORK/go.mod"
log "building etcd $ETCD_VERSION"
t=$(date +%s)
( cd "$EWORK" && "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 \
  && "$GO" build -ldflags="-s -w" -o "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3 >&2 )
log "etcd built in $(( $(date +%s) - t ))s"

# ---------------------------------------------------------------------- kwok
check_go_directive sigs.k8s.io/kwok "$KWOK_VERSION" >/dev/null
log "building kwok, kwokctl $KWOK_VERSION"
t=$(date +%s)
GOBIN="$BIN_DIR" GOFLAGS="-trimpath -buildvcs=false" "$GO" install -ldflags="-s -w" \
  "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION" >&2
log "kwok built in $(( $(date +%s) - t ))s"

# kwok's default stages (what `kwokctl create cluster` uses): nodes become
# Ready and keep a lease, pods become Running/Ready, Job pods complete,
# deleted pods are finalised.
KWOK_DIR="$(cd / && GOFLAGS='' "$GO" mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
mkdir -p "$(dirname "$STAGES")"
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
         pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  [[ -f "$KWOK_DIR/kustomize/stage/$f" ]] || die "missing kwok stage $f in $KWOK_DIR"
  echo "---"; cat "$KWOK_DIR/kustomize/stage/$f"
done > "$STAGES.tmp"
mv "$STAGES.tmp" "$STAGES"
log "kwok stages written to $STAGES"

for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || die "missing $BIN_DIR/$b"; done
"$BIN_DIR/kube-apiserver" --version >&2
"$BIN_DIR/etcd" --version 2>&1 | head -1 >&2
printf '%s' "$STAMP_CONTENT" > "$STAMP"
log "done in $(( $(date +%s) - start ))s: $BIN_DIR ($(du -sh "$BIN_DIR" | cut -f1))"

# The Go caches (~1.1 GB modules, ~3.7 GB build cache) only speed up a
# rebuild; BERTH_K8S_PRUNE=1 deletes them once the binaries are in place.
if [[ "${BERTH_K8S_PRUNE:-0}" == 1 ]]; then
  log "BERTH_K8S_PRUNE=1: removing $GOCACHE and $GOMODCACHE"
  (cd / && GOFLAGS='' "$GO" clean -cache -modcache)
  rm -rf "$K8S_CACHE/work"
fi
