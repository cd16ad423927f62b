#!/usr/bin/env bash
# Berth test environment: a single-node Docker Swarm on this machine.
#
#   - installs Debian's docker.io (20.10.24, API 1.41) and busybox-static if missing
#   - starts dockerd in the background (or reuses a running engine)
#   - `docker swarm init --advertise-addr 127.0.0.1` unless already a manager
#   - builds the berth-test/* images locally with `docker import` (no registry here)
#
# Idempotent: re-runs only check state and take about a second.
# Logs go to stderr; a KEY=VALUE summary goes to stdout.
#
# Environment:
#   BERTH_SWARM_STATE   state dir (default /root/.cache/berth/swarm): pid file, dockerd log, rootfs
#   BERTH_SWARM_REBUILD=1  rebuild the images even if present
# shellcheck disable=SC2016  # $(...) in single quotes is meant for the container shell
set -euo pipefail

STATE_DIR="${BERTH_SWARM_STATE:-/root/.cache/berth/swarm}"
PIDFILE="$STATE_DIR/dockerd.pid"
DOCKERD_LOG="$STATE_DIR/dockerd.log"
SOCK=/var/run/docker.sock
START_TS=$(date +%s.%N)

log() { printf '[swarm/up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, starts dockerd)"
mkdir -p "$STATE_DIR"

# The engine is addressed through the default socket, whatever the caller's environment says.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH || true

# ---------------------------------------------------------------- packages
need_pkgs=()
command -v dockerd >/dev/null 2>&1 && [ -x /usr/bin/docker ] || need_pkgs+=(docker.io)
[ -x /bin/busybox ] && dpkg -s busybox-static >/dev/null 2>&1 || need_pkgs+=(busybox-static)
# the test of the README's examples runs them as written, with curl and jq
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
command -v jq >/dev/null 2>&1 || need_pkgs+=(jq)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]} (apt-get update first)"
  # Keep the package's init script from starting its own dockerd (no systemd here);
  # only add a policy-rc.d when the machine has none, and remove it again.
  tmp_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    tmp_policy=/usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$STATE_DIR/apt.log"
  apt-get update >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; die "apt-get update failed (see $apt_log)"; }
  # --no-install-recommends: skips needrestart, git, apparmor (not needed to run containers)
  apt-get install -y --no-install-recommends "${need_pkgs[@]}" >>"$apt_log" 2>&1 \
    || { tail -n 30 "$apt_log" >&2; die "apt-get install failed (see $apt_log)"; }
  log "installed: $(dpkg-query -W -f '${Package} ${Version}\n' "${need_pkgs[@]}" | paste -sd, -)"
  if [ -n "$tmp_policy" ]; then rm -f "$tmp_policy"; trap - EXIT; fi
else
  log "docker.io and busybox-static already installed"
fi

# ---------------------------------------------------------------- docker CLI
# /usr/local/bin/docker (28.x, API 1.50) comes before Debian's /usr/bin/docker (20.10.24,
# API 1.41) in PATH. The 28.x CLI negotiates the API version down to the daemon's 1.41,
# but Debian's client matches the daemon exactly, so the scripts call it explicitly.
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || die "$DOCKER missing after installing docker.io"
dk() { "$DOCKER" "$@"; }

# ---------------------------------------------------------------- dockerd
engine_up() { dk info >/dev/null 2>&1; }

if engine_up; then
  log "reusing the running Docker engine on $SOCK"
else
  started=0
  if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
     && [ "$(cat /proc/"$(cat "$PIDFILE")"/comm 2>/dev/null)" = dockerd ]; then
    log "dockerd (pid $(cat "$PIDFILE")) from an earlier run is still starting; waiting"
  elif pgrep -x dockerd >/dev/null 2>&1; then
    log "a dockerd not started by this script is running (pid $(pgrep -x dockerd | tr '\n' ' ')); waiting for it"
  else
    log "starting dockerd (log: $DOCKERD_LOG)"
    # dockerd starts its own containerd when /run/containerd/containerd.sock is absent.
    setsid nohup /usr/sbin/dockerd \
      --host "unix://$SOCK" \
      --pidfile /var/run/docker.pid \
      >>"$DOCKERD_LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    started=1
  fi
  for _ in $(seq 1 120); do
    engine_up && break
    if [ "$started" = 1 ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd exited during start-up (see $DOCKERD_LOG)"
    fi
    sleep 0.5
  done
  engine_up || { tail -n 30 "$DOCKERD_LOG" >&2 || true; die "docker info did not answer within 60 s"; }
  log "engine answers: server $(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
fi

# ---------------------------------------------------------------- swarm
swarm_state=$(dk info --format '{{.Swarm.LocalNodeState}}')
control=$(dk info --format '{{.Swarm.ControlAvailable}}')
case "$swarm_state" in
  active)
    [ "$control" = true ] || die "this engine is in a swarm but not a manager; run down.sh first"
    log "already a swarm manager"
    ;;
  inactive)
    log "docker swarm init --advertise-addr 127.0.0.1"
    dk swarm init --advertise-addr 127.0.0.1 >/dev/null
    ;;
  *)
    die "unexpected swarm state '$swarm_state' (try: $DOCKER swarm leave --force)"
    ;;
esac
for _ in $(seq 1 60); do
  [ "$(dk node ls --format '{{.Status}} {{.Availability}}' 2>/dev/null | head -n1)" = "Ready Active" ] && break
  sleep 0.5
done

# ---------------------------------------------------------------- images
BASE_ROOTFS="$STATE_DIR/rootfs-base"

make_base_rootfs() {
  local bb_sum
  bb_sum=$(sha256sum /bin/busybox | cut -c1-16)
  if [ -f "$BASE_ROOTFS/.busybox-sum" ] && [ "$(cat "$BASE_ROOTFS/.busybox-sum")" = "$bb_sum" ]; then
    return
  fi
  log "building busybox root filesystem in $BASE_ROOTFS"
  rm -rf "$BASE_ROOTFS"
  mkdir -p "$BASE_ROOTFS"/{bin,etc,tmp,www,data,root,proc,sys,dev,var/run}
  chmod 1777 "$BASE_ROOTFS/tmp"
  cp /bin/busybox "$BASE_ROOTFS/bin/busybox"
  # Every applet as a symlink (sh, sleep, httpd, nc, cat, echo, ls, mkdir, date, hostname, ...).
  local a
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$BASE_ROOTFS/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$BASE_ROOTFS/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$BASE_ROOTFS/etc/group"
  printf 'hosts: files dns\n' >"$BASE_ROOTFS/etc/nsswitch.conf"
  echo "$bb_sum" >"$BASE_ROOTFS/.busybox-sum"
}

# build_image TAG INDEX_TEXT CMD_JSON [extra --change values...]
# The image carries a label with a hash of its recipe; a changed recipe rebuilds it.
built=()
kept=()
build_image() {
  local tag=$1 index=$2 cmd=$3; shift 3
  local changes=("ENV PATH=/bin" "WORKDIR /" "CMD $cmd" "$@")
  local recipe
  recipe=$( { cat "$BASE_ROOTFS/.busybox-sum"; printf '%s\n' "$tag" "$index" "${changes[@]}"; } | sha256sum | cut -c1-16)
  if [ "${BERTH_SWARM_REBUILD:-0}" != 1 ] \
     && [ "$(dk image inspect --format '{{index .Config.Labels "berth.testenv.recipe"}}' "$tag" 2>/dev/null || true)" = "$recipe" ]; then
    kept+=("$tag")
    return
  fi
  local dir old_id
  old_id=$(dk image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  dir=$(mktemp -d "$STATE_DIR/img.XXXXXX")
  cp -a "$BASE_ROOTFS/." "$dir/"
  rm -f "$dir/.busybox-sum"
  printf '%s\n' "$index" >"$dir/www/index.html"
  local args=() c
  for c in "${changes[@]}" "LABEL berth.testenv.recipe=$recipe" "LABEL berth.testenv=1"; do
    args+=(--change "$c")
  done
  log "docker import -> $tag"
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf - . | dk import "${args[@]}" - "$tag" >/dev/null
  rm -rf "$dir"
  # drop the replaced image unless a container still uses it (then it just stays dangling)
  [ -z "$old_id" ] || dk image rm "$old_id" >/dev/null 2>&1 || true
  built+=("$tag")
}

make_base_rootfs

# httpd in the foreground on port 80, serving /www/index.html ("v1" / "v2").
# Wrapped in sh with a TERM trap: as PID 1, httpd alone ignores SIGTERM and every task
# stop would wait for the 10 s kill timeout (slow rolling updates).
HTTP_CMD='["sh","-c","trap \"exit 0\" TERM INT; httpd -f -p 80 -h /www & wait"]'
build_image berth-test/http:1 v1 "$HTTP_CMD" "EXPOSE 80" "LABEL berth.testenv.version=v1"
build_image berth-test/http:2 v2 "$HTTP_CMD" "EXPOSE 80" "LABEL berth.testenv.version=v2"

# Starts, then exits 1 after 1 s: inside an update's monitor window this is a task
# failure, so --update-failure-action rollback rolls the service back.
build_image berth-test/unhealthy:1 unhealthy \
  '["sh","-c","echo unhealthy: starting on $(hostname); sleep 1; echo unhealthy: giving up >&2; exit 1"]'

# One-shot jobs (mode replicated-job / global-job).
build_image berth-test/job:ok job-ok \
  '["sh","-c","echo job ok: started on $(hostname); sleep 2; echo job ok: done"]'
build_image berth-test/job:fail job-fail \
  '["sh","-c","echo job fail: exiting with 3 >&2; exit 3"]'

# Plain long-running shell, for db-like services writing into a volume (e.g. at /data).
build_image berth-test/busybox:1 busybox \
  '["sh","-c","trap \"exit 0\" TERM INT; sleep 1000000 & wait"]'

# The pod sandbox ("pause") image of the real Kubernetes node (packages/testenv/k8s/node-up.sh
# imports it into the node's containerd): only holds the pod's namespaces open.
build_image berth-test/pause:1 pause '["/bin/sleep","2147483647"]'

# ---------------------------------------------------------------- summary
elapsed=$(awk -v s="$START_TS" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
[ "${#built[@]}" -gt 0 ] && log "built: ${built[*]}"
[ "${#kept[@]}" -gt 0 ] && log "already present: ${kept[*]}"
log "done in ${elapsed}s"

server=$(dk version --format '{{.Server.Version}}')
api=$(dk version --format '{{.Server.APIVersion}}')
node=$(dk info --format '{{.Swarm.NodeID}}')
pid=""
[ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && pid=$(cat "$PIDFILE")
cat <<EOF
DOCKER_SOCKET=$SOCK
DOCKER_HOST=unix://$SOCK
DOCKER_CLI=$DOCKER
DOCKER_SERVER_VERSION=$server
DOCKER_API_VERSION=$api
SWARM_NODE_ID=$node
DOCKERD_PID=${pid:-not-started-by-up.sh}
DOCKERD_LOG=$DOCKERD_LOG
IMAGES=berth-test/http:1 berth-test/http:2 berth-test/unhealthy:1 berth-test/job:ok berth-test/job:fail berth-test/busybox:1 berth-test/pause:1
EOF
