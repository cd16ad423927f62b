#!/usr/bin/env bash
# Tears down what swarm/up.sh set up: leaves the swarm (removing its services,
# networks, configs and secrets) and stops the dockerd that up.sh started (pid file).
# Images (berth-test/*) and /var/lib/docker are kept, so the next up.sh is quick.
# A dockerd not started by up.sh is left running. Idempotent.
set -euo pipefail

STATE_DIR="${BERTH_SWARM_STATE:-/root/.cache/berth/swarm}"
PIDFILE="$STATE_DIR/dockerd.pid"

log() { printf '[swarm/down %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH || true
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=docker
dk() { "$DOCKER" "$@"; }

if command -v "$DOCKER" >/dev/null 2>&1 && dk info >/dev/null 2>&1; then
  state=$(dk info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" != inactive ]; then
    log "docker swarm leave --force (state: $state)"
    dk swarm leave --force >/dev/null
  else
    log "not in a swarm"
  fi
  # Containers left behind by job services (they stay after the service is removed).
  ids=$(dk ps -aq --filter label=com.docker.swarm.service.name)
  if [ -n "$ids" ]; then
    log "removing $(echo "$ids" | wc -l) leftover swarm task containers"
    # shellcheck disable=SC2086
    dk rm -f $ids >/dev/null || true
  fi
else
  log "no Docker engine answering"
fi

pid=""
[ -s "$PIDFILE" ] && pid=$(cat "$PIDFILE")
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dockerd ]; then
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd still running after 30 s; sending SIGKILL"
    kill -KILL "$pid" || true
  fi
  log "dockerd stopped"
else
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "dockerd (pid $(pgrep -x dockerd | tr '\n' ' ')) was not started by up.sh; leaving it running"
  else
    log "dockerd not running"
  fi
fi
rm -f "$PIDFILE"
