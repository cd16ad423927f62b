#!/usr/bin/env bash
# Start a real Kubernetes control plane on 127.0.0.1 for tests:
# etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok
# (kwok fakes the nodes and kubelets: no container ever runs, but pods become
# Running/Ready, Job pods complete, PVCs bind).
#
# Idempotent: if the cluster is already up and healthy it is reused at once.
# Last line on stdout: KUBECONFIG=<path>. Logs go to stderr.
#
# Environment (all optional):
#   BERTH_CACHE            cache root (default $HOME/.cache/berth)
#   BERTH_K8S_API_PORT     kube-apiserver secure port (default 6443)
#   BERTH_K8S_ETCD_PORT    etcd client port (default 12379; peer port is +1)
#   BERTH_K8S_NODES        number of fake nodes (default 3)
#   BERTH_K8S_STATIC_PVS   number of static PVs in class local-static (default 20)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

up_start=$(date +%s)

if cluster_healthy; then
  log "cluster already up and healthy (apiserver https://127.0.0.1:$API_PORT), reusing it"
  echo "KUBECONFIG=$KUBECONFIG_PATH"
  exit 0
fi

mkdir -p "$RUN_DIR"
exec 8>"$RUN_DIR/up.lock"
flock 8
if cluster_healthy; then
  log "cluster brought up by another process, reusing it"
  echo "KUBECONFIG=$KUBECONFIG_PATH"
  exit 0
fi

# Anything half-running (crashed component, stale pid files) is stopped first.
stop_all

"$HERE/build.sh"

for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHED_PORT" "$KWOK_PORT"; do
  if port_in_use "$port"; then
    die "127.0.0.1:$port is already in use by a process this script did not start (see: ss -ltnp 'sport = :$port')"
  fi
done

mkdir -p "$LOG_DIR" "$PID_DIR" "$PKI_DIR" "$RUN_DIR/etcd-data" "$PV_ROOT"

# ------------------------------------------------------------------ PKI
gen_pki() {
  local d="$PKI_DIR"
  if [[ -f "$d/.complete" ]]; then return 0; fi
  log "generating certificates in $d"
  rm -f "$d"/*
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=berth-k8s-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  # kube-apiserver serving cert (also used by kwok's kubelet-like server)
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  cat >"$d/apiserver.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/apiserver.ext" -out "$d/apiserver.crt" 2>/dev/null
  # admin client cert (system:masters), used by kubectl, the tests and the components
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kubernetes-admin" \
    -keyout "$d/admin.key" -out "$d/admin.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$d/admin.ext"
  openssl x509 -req -in "$d/admin.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/admin.ext" -out "$d/admin.crt" 2>/dev/null
  # service-account signing key pair
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  chmod 600 "$d"/*.key
  touch "$d/.complete"
}
gen_pki

b64() { base64 -w0 <"$1"; }
write_kubeconfig() {
  local tmp="$KUBECONFIG_PATH.tmp"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: berth-k8s
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$PKI_DIR/ca.crt")
users:
- name: berth-admin
  user:
    client-certificate-data: $(b64 "$PKI_DIR/admin.crt")
    client-key-data: $(b64 "$PKI_DIR/admin.key")
contexts:
- name: berth-k8s
  context:
    cluster: berth-k8s
    user: berth-admin
    namespace: default
current-context: berth-k8s
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$KUBECONFIG_PATH"
}
write_kubeconfig

# ------------------------------------------------------------ components
# start_component NAME BINARY ARGS...: detached (own session), log file, pid file.
start_component() {
  local name="$1" bin="$2"; shift 2
  local logf="$LOG_DIR/$name.log"
  [[ -f "$logf" ]] && mv -f "$logf" "$logf.prev"
  log "starting $name (log: $logf)"
  # Not a process-group leader inside '&', so setsid does not fork: $! is the component.
  # 8>&-: the daemons must not inherit (and so hold) up.sh's lock.
  nohup setsid "$bin" "$@" >"$logf" 2>&1 </dev/null 8>&- &
  local pid=$!
  echo "$pid" >"$PID_DIR/$name.pid"
  # else wait_url would call a component still passing through nohup and setsid a crash
  wait_exec "$pid" component_alive "$name" || die "$name did not start (pid $pid; log: $logf)"
}

# wait_url NAME URL TIMEOUT [curl args...]
wait_url() {
  local name="$1" url="$2" timeout="$3"; shift 3
  local deadline=$(( $(date +%s) + timeout ))
  until curl -fsS --max-time 3 "$@" "$url" >/dev/null 2>&1; do
    if ! component_alive "$name"; then
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      die "$name exited during start-up (log: $LOG_DIR/$name.log)"
    fi
    if (( $(date +%s) > deadline )); then
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      die "$name not healthy at $url after ${timeout}s (log: $LOG_DIR/$name.log)"
    fi
    sleep 0.5
  done
  log "$name healthy ($url)"
}

start_component etcd "$BIN_DIR/etcd" \
  --name=node0 \
  --data-dir="$RUN_DIR/etcd-data" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="node0=http://127.0.0.1:$ETCD_PEER_PORT" \
  --auto-compaction-retention=1 \
  --quota-backend-bytes=4294967296 \
  --unsafe-no-fsync=true \
  --log-level=warn
wait_url etcd "http://127.0.0.1:$ETCD_PORT/health" 60

start_component kube-apiserver "$BIN_DIR/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$API_PORT" \
  --tls-cert-file="$PKI_DIR/apiserver.crt" \
  --tls-private-key-file="$PKI_DIR/apiserver.key" \
  --client-ca-file="$PKI_DIR/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI_DIR/sa.pub" \
  --service-account-signing-key-file="$PKI_DIR/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --service-node-port-range=30000-32767 \
  --authorization-mode=Node,RBAC \
  --allow-privileged=true \
  --kubelet-client-certificate="$PKI_DIR/admin.crt" \
  --kubelet-client-key="$PKI_DIR/admin.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --proxy-client-cert-file="$PKI_DIR/admin.crt" \
  --proxy-client-key-file="$PKI_DIR/admin.key" \
  --requestheader-client-ca-file="$PKI_DIR/ca.crt" \
  --requestheader-allowed-names=kubernetes-admin \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --endpoint-reconciler-type=none \
  --profiling=false \
  --v=1
wait_url kube-apiserver "https://127.0.0.1:$API_PORT/readyz" 120 --cacert "$PKI_DIR/ca.crt"

start_component kube-controller-manager "$BIN_DIR/kube-controller-manager" \
  --kubeconfig="$KUBECONFIG_PATH" \
  --authentication-kubeconfig="$KUBECONFIG_PATH" \
  --authorization-kubeconfig="$KUBECONFIG_PATH" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --cert-dir="$RUN_DIR/serving-certs/kube-controller-manager" \
  --leader-elect=false \
  --controllers='*' \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI_DIR/sa.key" \
  --root-ca-file="$PKI_DIR/ca.crt" \
  --cluster-signing-cert-file="$PKI_DIR/ca.crt" \
  --cluster-signing-key-file="$PKI_DIR/ca.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --allocate-node-cidrs=false \
  --enable-hostpath-provisioner=true \
  --kube-api-qps=500 \
  --kube-api-burst=1000 \
  --profiling=false \
  --v=1
start_component kube-scheduler "$BIN_DIR/kube-scheduler" \
  --kubeconfig="$KUBECONFIG_PATH" \
  --authentication-kubeconfig="$KUBECONFIG_PATH" \
  --authorization-kubeconfig="$KUBECONFIG_PATH" \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHED_PORT" \
  --cert-dir="$RUN_DIR/serving-certs/kube-scheduler" \
  --leader-elect=false \
  --profiling=false \
  --v=1
# kwok config: its default stages, plus one log file (CRI log format) served
# for every container, so `kubectl logs` and log-streaming APIs answer.
FAKE_LOG="$RUN_DIR/fake-container.log"
if [[ ! -f "$FAKE_LOG" ]]; then
  for i in 1 2 3; do
    printf '%s stdout F berth fake container log line %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$i"
  done >"$FAKE_LOG"
fi
{
  cat "$STAGES"
  cat "$HERE"/stages/*.yaml   # Berth test images: never-ready pods, failing job pods
  cat <<EOF
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: berth-fake-logs
spec:
  logs:
  - logsFile: $FAKE_LOG
    follow: true
EOF
} >"$RUN_DIR/kwok.yaml"
start_component kwok "$BIN_DIR/kwok" \
  --kubeconfig="$KUBECONFIG_PATH" \
  --config="$RUN_DIR/kwok.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-ip=127.0.0.1 \
  --node-name=kwok-controller \
  --node-port="$KWOK_PORT" \
  --server-address="127.0.0.1:$KWOK_PORT" \
  --tls-cert-file="$PKI_DIR/apiserver.crt" \
  --tls-private-key-file="$PKI_DIR/apiserver.key" \
  --node-lease-duration-seconds=40 \
  --cidr=10.244.0.1/16

wait_url kube-controller-manager "https://127.0.0.1:$KCM_PORT/healthz" 60 --cacert "$PKI_DIR/ca.crt" -k
wait_url kube-scheduler "https://127.0.0.1:$SCHED_PORT/healthz" 60 -k
wait_url kwok "https://127.0.0.1:$KWOK_PORT/healthz" 60 -k

# ------------------------------------------------------ cluster objects
export KUBECONFIG="$KUBECONFIG_PATH"
{
  for i in $(seq 0 $((NODES - 1))); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    node-role.kubernetes.io/agent: ""
    topology.kubernetes.io/zone: zone-$i
    type: kwok
status:
  allocatable: {cpu: "16", memory: 64Gi, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "16", memory: 64Gi, pods: "110", ephemeral-storage: 100Gi}
EOF
  done
  cat <<EOF
---
# Default class: the controller-manager's in-tree hostPath provisioner
# (--enable-hostpath-provisioner) creates a PV per claim under /tmp/hostpath_pv
# and deletes it with the claim. Any access mode is accepted.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
# Static class: pre-created PVs only (kubernetes.io/no-provisioner), bound by
# the controller-manager's PV binder.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-static
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
volumeBindingMode: Immediate
EOF
  for i in $(seq -w 1 "$STATIC_PVS"); do
    mode=ReadWriteOnce; (( 10#$i % 2 == 0 )) && mode=ReadWriteMany
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: static-pv-$i
  labels: {berth.dev/static-pv: "true"}
spec:
  storageClassName: local-static
  capacity: {storage: 1Gi}
  accessModes: [$mode]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: "$PV_ROOT/static-pv-$i", type: DirectoryOrCreate}
EOF
  done
} >"$RUN_DIR/bootstrap.yaml"
log "applying nodes, storage classes and static PVs"
"$BIN_DIR/kubectl" apply --server-side --force-conflicts -f "$RUN_DIR/bootstrap.yaml" >"$LOG_DIR/bootstrap.log" 2>&1 \
  || { cat "$LOG_DIR/bootstrap.log" >&2; die "kubectl apply failed"; }

log "waiting for nodes Ready and the default service account"
"$BIN_DIR/kubectl" wait --for=condition=Ready node --all --timeout=90s >&2
deadline=$(( $(date +%s) + 60 ))
until "$BIN_DIR/kubectl" -n default get serviceaccount default >/dev/null 2>&1; do
  (( $(date +%s) > deadline )) && die "default service account never appeared (kube-controller-manager log: $LOG_DIR/kube-controller-manager.log)"
  sleep 0.5
done

# State kept from an earlier run may register the real node's metrics API (node-up.sh).
drop_dead_metrics_api

if ! cluster_healthy; then die "components started but the health check fails; see $LOG_DIR"; fi
log "cluster up in $(( $(date +%s) - up_start ))s: $("$BIN_DIR/kubectl" get nodes --no-headers | wc -l) nodes; kubectl: $BIN_DIR/kubectl"
echo "KUBECONFIG=$KUBECONFIG_PATH"
