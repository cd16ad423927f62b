#!/usr/bin/env bash
# Add a real node to the test cluster (up.sh), beside the kwok nodes: containers really run there.
#
#   containerd  Debian's (installed with docker.io), a second instance with its own root, state and
#               socket (not Docker's); the Swarm testenv's images are imported into it
#   CNI         Debian's containernetworking-plugins: bridge $NODE_BRIDGE ($NODE_SUBNET) + portmap
#   kubelet     node $NODE_NAME, labelled $NODE_LABEL, tainted $NODE_TAINT:NoSchedule
#   kube-proxy  iptables mode (ClusterIPs reachable from the host and from pods)
#   CoreDNS     on the host, bound to the bridge address, the pods' cluster DNS
#   metrics-server  on the host, serving metrics.k8s.io through the aggregator
#
# Only pods asking for the node get there: its taint keeps every other pod (the kwok tests') off
# it, and a MutatingAdmissionPolicy gives a toleration to pods whose nodeSelector names the label
# (a Berth spec's placement constraint `node.labels.berth-runtime == containers`). Nothing of this
# is visible to the product: it talks to the API server only.
#
# Idempotent: components already running with the same settings are kept (a re-run takes ~1 s);
# a component that died or whose settings changed is (re)started alone. Never restarts the control
# plane. Last line on stdout: KUBECONFIG=<path>. Logs go to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[[ "$(id -u)" == 0 ]] || die "must run as root (starts containerd and kubelet, sets iptables rules)"
up_start=$(date +%s)

# The control plane first (a no-op when it is up), and the Swarm testenv: Docker, the test images.
"$HERE/up.sh" >/dev/null
bash "$HERE/../swarm/up.sh" >/dev/null
export KUBECONFIG="$KUBECONFIG_PATH"
KUBECTL="$BIN_DIR/kubectl"

CTR_ROOT=/var/lib/berth-containerd
CTR_STATE=/run/berth-containerd
CTR_SOCK="$CTR_STATE/containerd.sock"
KUBELET_ROOT=/var/lib/berth-kubelet
CNI_CONF_DIR="$NODE_RUN/cni"
CNI_DATA=/var/lib/berth-cni
DOCKER=/usr/bin/docker
# Images the node can run (never pulled: no registry is reachable), from packages/testenv/swarm/up.sh.
# berth-test/etcd:1|2 (etcd-image.sh): etcd from this cache's build on the same root filesystem.
NODE_IMAGES=(berth-test/http:1 berth-test/http:2 berth-test/unhealthy:1 berth-test/job:ok berth-test/job:fail berth-test/busybox:1 berth-test/pause:1 berth-test/etcd:1 berth-test/etcd:2)

mkdir -p "$NODE_RUN" "$NODE_PIDS" "$NODE_LOGS" "$CNI_CONF_DIR"
exec 7>"$NODE_RUN/up.lock"
flock 7

# ------------------------------------------------------------- helpers
stop_node_component() { # NAME EXE
  local pid
  if pid="$(node_pid "$1" "$2")"; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do node_pid "$1" "$2" >/dev/null || break; sleep 0.1; done
    if node_pid "$1" "$2" >/dev/null; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  fi
  rm -f "$NODE_PIDS/$1.pid"
}

# ensure_component NAME EXE ARGS...: keeps a running instance started with the same command line
# and config files (a hash of both is stored beside the pid), else (re)starts it detached.
ensure_component() {
  local name="$1" exe="$2"; shift 2
  local want a
  want="$( { printf '%s\n' "$exe" "$@"; for a in "$@"; do
      a="${a#*=}"; if [[ "$a" == "$NODE_RUN"/* && -f "$a" ]]; then cat "$a"; fi; done; } | sha256sum | cut -c1-16)"
  if node_pid "$name" "$exe" >/dev/null && [[ "$(cut -d' ' -f2 "$NODE_PIDS/$name.pid")" == "$want" ]]; then
    return 0
  fi
  stop_node_component "$name" "$exe"
  local logf="$NODE_LOGS/$name.log"
  [[ -f "$logf" ]] && mv -f "$logf" "$logf.prev"
  log "starting $name (log: $logf)"
  # 7>&- 8>&- 9>&-: the daemons must not inherit (and so hold) the scripts' locks.
  nohup setsid "$exe" "$@" >"$logf" 2>&1 </dev/null 7>&- 8>&- 9>&- &
  local pid=$!
  echo "$pid $want" >"$NODE_PIDS/$name.pid"
  wait_exec "$pid" node_pid "$name" "$exe" || die "$name did not start (pid $pid; log: $logf)"
}

# write_file PATH < content: replaces the file only when the content differs (kube-proxy exits
# when its config file changes, and the hashes above must see the same file as the process).
write_file() {
  local tmp="$1.tmp"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

# wait_until NAME TIMEOUT EXE COMMAND...: until COMMAND succeeds; fails early if NAME died.
wait_until() {
  local name="$1" timeout="$2" exe="$3"; shift 3
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if ! node_pid "$name" "$exe" >/dev/null; then
      tail -n 30 "$NODE_LOGS/$name.log" >&2 || true
      die "$name exited during start-up (log: $NODE_LOGS/$name.log)"
    fi
    if (( $(date +%s) > deadline )); then
      tail -n 30 "$NODE_LOGS/$name.log" >&2 || true
      die "$name not ready after ${timeout}s: \`$*\` fails (log: $NODE_LOGS/$name.log)"
    fi
    sleep 0.5
  done
}

# ------------------------------------------------------------ packages
need=()
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/portmap && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || need+=(containernetworking-plugins)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)   # kube-proxy clears stale UDP entries with it
if [[ ! -x /usr/bin/containerd ]] || { [[ ! -x /usr/sbin/runc ]] && [[ ! -x /usr/bin/runc ]]; }; then need+=(containerd runc); fi
if (( ${#need[@]} )); then
  log "installing ${need[*]} (apt-get update first)"
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$NODE_RUN/apt.log"
  apt-get update >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; die "apt-get update failed (see $apt_log)"; }
  apt-get install -y --no-install-recommends "${need[@]}" >>"$apt_log" 2>&1 \
    || { tail -n 30 "$apt_log" >&2; die "apt-get install ${need[*]} failed (see $apt_log)"; }
fi

"$HERE/node-build.sh"
KUBELET="$NODE_BIN_DIR/kubelet"
KUBE_PROXY="$NODE_BIN_DIR/kube-proxy"
COREDNS="$NODE_BIN_DIR/coredns"
METRICS_SERVER="$NODE_BIN_DIR/metrics-server"
CONTAINERD=/usr/bin/containerd

# ------------------------------------------------------------- network
# The bridge exists before the first pod (the CNI plugin reuses it): its address is the node's IP
# (kubelet refuses a loopback one) and where CoreDNS and metrics-server listen.
if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  ip link add "$NODE_BRIDGE" type bridge
fi
bridge_addrs="$(ip -4 -o addr show dev "$NODE_BRIDGE")"
[[ "$bridge_addrs" == *"inet $NODE_IP/"* ]] || ip addr add "$NODE_IP/${NODE_SUBNET#*/}" dev "$NODE_BRIDGE"
ip link set "$NODE_BRIDGE" up
sysctl -qw net.ipv4.ip_forward=1
# Bridged traffic through iptables: a pod reaching a ClusterIP whose endpoint shares its bridge gets
# the reply un-NATed only so (Docker usually loads br_netfilter already).
[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || modprobe br_netfilter 2>/dev/null || true
[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || die "br_netfilter is not available (modprobe br_netfilter failed): ClusterIPs would not answer between pods"
sysctl -qw net.bridge.bridge-nf-call-iptables=1
# Docker sets the FORWARD policy to DROP: without these, pods on the bridge cannot reach each other.
for dir in -i -o; do
  iptables -C FORWARD "$dir" "$NODE_BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD 1 "$dir" "$NODE_BRIDGE" -j ACCEPT
done

write_file "$CNI_CONF_DIR/10-berth.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "berth",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$NODE_SUBNET", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$CNI_DATA/networks"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

# ---------------------------------------------------------- containerd
mkdir -p "$CTR_ROOT" "$CTR_STATE"
write_file "$NODE_RUN/containerd.toml" <<EOF
version = 2
root = "$CTR_ROOT"
state = "$CTR_STATE"
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTR_ROOT/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # No registry is reachable: the sandbox image is built locally (swarm/up.sh) and imported below.
  sandbox_image = "docker.io/berth-test/pause:1"
  # A process here cannot lower its oom_score_adj; without this every sandbox fails in runc.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CNI_CONF_DIR"
EOF
ensure_component containerd "$CONTAINERD" --config="$NODE_RUN/containerd.toml"
ctr() { /usr/bin/ctr -a "$CTR_SOCK" -n k8s.io "$@"; }
wait_until containerd 60 "$CONTAINERD" ctr version

# -------------------------------------------------------------- images
# `docker save` | `ctr import` names them docker.io/berth-test/...: pods find them with
# imagePullPolicy IfNotPresent. Re-imported when Docker's image ids change (swarm/up.sh rebuilt one).
bash "$HERE/etcd-image.sh"
want_images="$(for i in "${NODE_IMAGES[@]}"; do printf '%s %s\n' "$i" "$("$DOCKER" image inspect --format '{{.Id}}' "$i")"; done)"
have_names="$(ctr images ls -q 2>/dev/null || true)"
missing=0
for i in "${NODE_IMAGES[@]}"; do grep -qx "docker.io/$i" <<<"$have_names" || missing=1; done
if (( missing )) || [[ "$(cat "$CTR_ROOT/berth-images" 2>/dev/null)" != "$want_images" ]]; then
  log "importing ${NODE_IMAGES[*]} into the node's containerd"
  "$DOCKER" save "${NODE_IMAGES[@]}" | ctr images import - >&2
  printf '%s' "$want_images" >"$CTR_ROOT/berth-images"
fi

# ------------------------------------------------------------- kubelet
write_file "$NODE_RUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$CTR_SOCK
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
# Test cluster only: the API server (admin client certificate) and metrics-server call in.
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
# This machine runs cgroup v1 and no systemd; no QoS cgroup hierarchy, no allocatable enforcement.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
# The images cannot be pulled again: never garbage-collect them, and do not evict for disk use.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
maxPods: 110
shutdownGracePeriod: 0s
EOF
ensure_component kubelet "$KUBELET" \
  --config="$NODE_RUN/kubelet.yaml" \
  --kubeconfig="$KUBECONFIG_PATH" \
  --root-dir="$KUBELET_ROOT" \
  --cert-dir="$NODE_RUN/kubelet-pki" \
  --hostname-override="$NODE_NAME" \
  --node-ip="$NODE_IP" \
  --node-labels="$NODE_LABEL,type=real" \
  --register-with-taints="$NODE_TAINT:NoSchedule" \
  --v=1
node_ready() { [[ "$("$KUBECTL" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
wait_until kubelet 120 "$KUBELET" node_ready

# ---------------------------------------------------------- kube-proxy
write_file "$NODE_RUN/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$KUBECONFIG_PATH"}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $NODE_SUBNET
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
# NodePorts only on the bridge address: the host's own ports stay Docker's.
nodePortAddresses: ["$NODE_IP/32"]
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
ensure_component kube-proxy "$KUBE_PROXY" --config="$NODE_RUN/kube-proxy.yaml" --v=1
wait_until kube-proxy 60 "$KUBE_PROXY" curl -fsS --max-time 2 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz"

# ------------------------------------------------------------- CoreDNS
write_file "$NODE_RUN/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    ready 127.0.0.1:$COREDNS_READY_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $KUBECONFIG_PATH berth-k8s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    forward . /etc/resolv.conf
    cache 5
}
EOF
ensure_component coredns "$COREDNS" -conf "$NODE_RUN/Corefile"
wait_until coredns 60 "$COREDNS" curl -fsS --max-time 2 "http://127.0.0.1:$COREDNS_READY_PORT/ready"

# ------------------------------------------------------ metrics-server
ensure_component metrics-server "$METRICS_SERVER" \
  --kubeconfig="$KUBECONFIG_PATH" \
  --authentication-kubeconfig="$KUBECONFIG_PATH" \
  --authorization-kubeconfig="$KUBECONFIG_PATH" \
  --bind-address="$NODE_IP" \
  --secure-port="$METRICS_SERVER_PORT" \
  --cert-dir="$NODE_RUN/metrics-server-pki" \
  --kubelet-insecure-tls \
  --kubelet-preferred-address-types=InternalIP \
  --kubelet-use-node-status-port \
  --node-selector="$NODE_LABEL" \
  --metric-resolution=10s \
  --kubelet-request-timeout=5s

# ------------------------------------------------------ cluster objects
write_file "$NODE_RUN/node-objects.yaml" <<EOF
# metrics.k8s.io served by metrics-server on the host, through a Service without selector.
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system}
spec:
  ports: [{name: https, port: 443, protocol: TCP, targetPort: $METRICS_SERVER_PORT}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: metrics-server-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: metrics-server}
addressType: IPv4
ports: [{name: https, port: $METRICS_SERVER_PORT, protocol: TCP}]
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  service: {name: metrics-server, namespace: kube-system, port: 443}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
---
# Pods whose nodeSelector asks for the real node tolerate its taint; no other pod gets there.
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: berth-real-node-toleration}
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  matchConditions:
  - name: asks-for-the-real-node
    expression: >-
      has(object.spec.nodeSelector) && '${NODE_LABEL%%=*}' in object.spec.nodeSelector
      && object.spec.nodeSelector['${NODE_LABEL%%=*}'] == '${NODE_LABEL#*=}'
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: >-
        has(object.spec.tolerations)
        ? [JSONPatch{op: "add", path: "/spec/tolerations/-", value: Object.spec.tolerations{key: "$NODE_TAINT_KEY", operator: "Exists", effect: "NoSchedule"}}]
        : [JSONPatch{op: "add", path: "/spec/tolerations", value: [Object.spec.tolerations{key: "$NODE_TAINT_KEY", operator: "Exists", effect: "NoSchedule"}]}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: berth-real-node-toleration}
spec:
  policyName: berth-real-node-toleration
EOF
if [[ "$(cat "$NODE_RUN/node-objects.applied" 2>/dev/null)" != "$(sha256sum <"$NODE_RUN/node-objects.yaml")" ]] \
   || ! "$KUBECTL" get apiservice v1beta1.metrics.k8s.io >/dev/null 2>&1 \
   || ! "$KUBECTL" get mutatingadmissionpolicybinding berth-real-node-toleration >/dev/null 2>&1; then
  log "applying the metrics APIService and the real node's toleration policy"
  "$KUBECTL" apply --server-side --force-conflicts -f "$NODE_RUN/node-objects.yaml" >"$NODE_LOGS/objects.log" 2>&1 \
    || { cat "$NODE_LOGS/objects.log" >&2; die "kubectl apply of $NODE_RUN/node-objects.yaml failed"; }
  sha256sum <"$NODE_RUN/node-objects.yaml" >"$NODE_RUN/node-objects.applied"
fi
metrics_ready() {
  [[ "$("$KUBECTL" get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')" == True ]] \
    && "$KUBECTL" get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$NODE_NAME"
}
wait_until metrics-server 120 "$METRICS_SERVER" metrics_ready

log "node $NODE_NAME ready in $(( $(date +%s) - up_start ))s (kubelet $("$KUBELET" --version | cut -d' ' -f2), pods on $NODE_SUBNET, DNS $NODE_IP)"
echo "KUBECONFIG=$KUBECONFIG_PATH"
