#!/usr/bin/env bash
# Smoke test for the swarm test environment (run after up.sh). Creates services named
# berth-smoke-*, checks them, and removes them again (also on failure).
#   1. berth-test/http:1 x3 on an overlay network, probed through task IPs (tasks.NAME)
#   2. rolling update to http:2 (parallelism 2, delay 2s) -> UpdateStatus completed, all "v2"
#   3. update to unhealthy:1 with failure action rollback -> rollback_completed, still http:2
#   4. replicated-job with job:ok completes; job:fail (restart condition none) fails with exit 3
#   5. http:1 with a host-mode published port 18080 answers "v1" from the host
# shellcheck disable=SC2016,SC2086  # container-side $(...); word-split id lists
set -euo pipefail

D=/usr/bin/docker
P=berth-smoke
NET=$P-net
T0=$(date +%s.%N)
log() { printf '[swarm/smoke %6.1fs] %s\n' "$(awk -v s="$T0" -v e="$(date +%s.%N)" 'BEGIN{print e-s}')" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

cleanup() {
  local ids
  ids=$($D service ls -q --filter name=$P- 2>/dev/null || true)
  [ -n "$ids" ] && $D service rm $ids >/dev/null 2>&1 || true
  # task containers of job services stay behind on 20.10; remove them by label
  for _ in $(seq 1 20); do
    [ -z "$($D ps -q --filter label=com.docker.swarm.service.name --filter name=$P- 2>/dev/null)" ] && break
    sleep 0.5
  done
  ids=$($D ps -aq --filter name=$P- 2>/dev/null || true)
  [ -n "$ids" ] && $D rm -f $ids >/dev/null 2>&1 || true
  for _ in $(seq 1 10); do
    $D network rm $NET >/dev/null 2>&1 && break
    $D network inspect $NET >/dev/null 2>&1 || break
    sleep 1
  done
}
trap cleanup EXIT

http_get() { { printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 3 "$1" "$2" 2>/dev/null || true; } | tail -n1; }
update_state() { $D service inspect "$1" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}'; }
wait_update() { # NAME STATE... ; prints the final state
  local s
  for _ in $(seq 1 240); do
    s=$(update_state "$1")
    for want in "${@:2}"; do [ "$s" = "$want" ] && { echo "$s"; return; }; done
    sleep 0.5
  done
  echo "${s:-none}"
}
wait_replicas() { # NAME WANT
  for _ in $(seq 1 60); do
    [ "$($D service ls --filter name="$1" --format '{{.Replicas}}')" = "$2" ] && return
    sleep 0.5
  done
  fail "$1 did not reach $2 replicas"
}
probe_tasks() { # via a throwaway container on the overlay network
  $D run --rm --network $NET berth-test/busybox:1 sh -c \
    'for ip in $(nslookup tasks.'"$P"'-web 2>/dev/null | awk "/^Address/ && !/#/ {print \$2}"); do
       printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 $ip 80 | tail -n1; done' | sort | uniq -c | tr -s ' ' | tr '\n' ' '
}

cleanup
$D network create -d overlay --attachable $NET >/dev/null

log "1. service $P-web: http:1 x3 on overlay $NET"
$D service create -d -q --name $P-web --network $NET --replicas 3 berth-test/http:1 >/dev/null 2>&1
wait_replicas $P-web 3/3; log "   3/3 running"
out=$(probe_tasks); log "   task answers: $out"
[ "$out" = " 3 v1 " ] || fail "expected 3 x v1, got '$out'"

log "2. rolling update to http:2 (parallelism 2, delay 2s)"
$D service update -d -q --image berth-test/http:2 --update-parallelism 2 --update-delay 2s $P-web >/dev/null 2>&1
s=$(wait_update $P-web completed paused rollback_completed)
[ "$s" = completed ] || fail "update ended in '$s'"
out=$(probe_tasks); log "   UpdateStatus=$s; task answers: $out"
[ "$out" = " 3 v2 " ] || fail "expected 3 x v2, got '$out'"

log "3. update to unhealthy:1 with --update-failure-action rollback --update-monitor 5s"
$D service update -d -q --image berth-test/unhealthy:1 --update-failure-action rollback --update-monitor 5s $P-web >/dev/null 2>&1
s=$(wait_update $P-web rollback_completed completed paused rollback_paused)
img=$($D service inspect $P-web --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')
log "   UpdateStatus=$s; image now $img"
[ "$s" = rollback_completed ] && [ "${img%@*}" = berth-test/http:2 ] || fail "expected rollback_completed on http:2"

log "4. replicated jobs"
$D service create -d -q --name $P-job-ok --mode replicated-job --replicas 2 berth-test/job:ok >/dev/null 2>&1
$D service create -d -q --name $P-job-fail --mode replicated-job --restart-condition none berth-test/job:fail >/dev/null 2>&1
for _ in $(seq 1 60); do
  ok=$($D service ps $P-job-ok --format '{{.CurrentState}}' | grep -c '^Complete' || true)
  bad=$($D service ps $P-job-fail --format '{{.CurrentState}}' | grep -c '^Failed' || true)
  [ "$ok" = 2 ] && [ "$bad" -ge 1 ] && break
  sleep 0.5
done
err=$($D service ps $P-job-fail --format '{{.Error}}' | head -n1)
log "   job:ok completed tasks=$ok; job:fail failed tasks=$bad ($err)"
[ "$ok" = 2 ] && [ "$bad" -ge 1 ] || fail "jobs did not end as expected"

log "5. host-mode published port 18080"
$D service create -d -q --name $P-host --publish mode=host,target=80,published=18080 berth-test/http:1 >/dev/null 2>&1
out=""
for _ in $(seq 1 40); do out=$(http_get 127.0.0.1 18080); [ -n "$out" ] && break; sleep 0.5; done
log "   127.0.0.1:18080 answered '$out'"
[ "$out" = v1 ] || fail "expected v1 on 127.0.0.1:18080"

log "all checks passed"
