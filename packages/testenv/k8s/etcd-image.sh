#!/usr/bin/env bash
# Builds berth-test/etcd:1 and berth-test/etcd:2 (the clustered database of examples/etcd-cluster):
# the etcd binary build.sh makes from the Go module proxy, on the busybox root filesystem of
# packages/testenv/swarm/up.sh, imported with `docker import` (no registry here). :1 and :2 hold
# the same etcd and differ by a label, so an update from one to the other really replaces members.
# Rebuilt only when the etcd binary or the base root filesystem changed. Run by node-up.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
DOCKER=/usr/bin/docker
BASE_ROOTFS="${BERTH_SWARM_STATE:-$BERTH_CACHE/swarm}/rootfs-base"
ETCD="$BIN_DIR/etcd"
[ -x "$ETCD" ] || { echo "etcd-image.sh: $ETCD is missing: run packages/testenv/k8s/build.sh" >&2; exit 1; }
[ -f "$BASE_ROOTFS/.busybox-sum" ] || { echo "etcd-image.sh: $BASE_ROOTFS is missing: run packages/testenv/swarm/up.sh" >&2; exit 1; }
recipe=$( { cat "$BASE_ROOTFS/.busybox-sum"; sha256sum "$ETCD" | cut -c1-16; } | sha256sum | cut -c1-16)
for version in 1 2; do
  tag="berth-test/etcd:$version"
  if [ "$("$DOCKER" image inspect --format '{{index .Config.Labels "berth.testenv.recipe"}}' "$tag" 2>/dev/null || true)" = "$recipe" ]; then continue; fi
  dir=$(mktemp -d)
  cp -a "$BASE_ROOTFS/." "$dir/"
  rm -f "$dir/.busybox-sum"
  cp "$ETCD" "$dir/bin/etcd"
  mkdir -p "$dir/tmp"
  echo "etcd-image.sh: docker import -> $tag" >&2
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf - . | "$DOCKER" import \
    --change 'ENV PATH=/bin' --change 'WORKDIR /' --change 'CMD ["etcd"]' --change 'EXPOSE 2379 2380' \
    --change "LABEL berth.testenv.recipe=$recipe" --change 'LABEL berth.testenv=1' --change "LABEL berth.testenv.version=v$version" \
    - "$tag" >/dev/null
  rm -rf "$dir"
done
