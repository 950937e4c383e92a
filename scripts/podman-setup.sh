#!/usr/bin/env bash
# A container engine for the docker tier of the tests (and for `praktor agent-image build`
# on a machine without Docker): Podman serving the Docker API on a socket inside the repo.
#
# Idempotent: installs what is missing (Debian/Ubuntu, as root), writes a project-local
# containers.conf, starts `podman system service` when its socket does not answer, and
# builds the local base image localhost/debian:bookworm with debootstrap when missing
# (no image registry needs to be reachable). Prints the DOCKER_HOST to use on its last line.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/.tools/podman"
SOCK="$DIR/podman.sock"
BASE_IMAGE="${PRAKTOR_BASE_IMAGE:-localhost/debian:bookworm}"
PACKAGES=(podman runc slirp4netns uidmap fuse-overlayfs debootstrap)

say() { echo "podman-setup: $*" >&2; }

mkdir -p "$DIR"

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        say "missing packages: ${missing[*]}; install them (apt-get install -y ${missing[*]}) and run again"
        exit 1
    fi
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Podman's defaults fail here: crun on this cgroup layout, ulimits above the hard limits.
export CONTAINERS_CONF="$DIR/containers.conf"
cat >"$CONTAINERS_CONF.new" <<'CONF'
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
mv "$CONTAINERS_CONF.new" "$CONTAINERS_CONF"

answers() { curl -fsS --max-time 5 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }

if ! answers; then
    rm -f "$SOCK"
    say "starting podman system service on $SOCK (log: $DIR/service.log)"
    nohup podman system service --time=0 "unix://$SOCK" >>"$DIR/service.log" 2>&1 </dev/null &
    echo $! >"$DIR/service.pid"
    for _ in $(seq 1 100); do
        answers && break
        sleep 0.1
    done
    answers || { say "podman did not answer on $SOCK; see $DIR/service.log"; exit 1; }
fi

if ! podman image exists "$BASE_IMAGE"; then
    mirror="$(grep -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 | awk '{print $2}')"
    [[ -n "$mirror" ]] || mirror="$(grep -hoE '^deb +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | head -1 | awk '{print $2}')"
    mirror="${mirror:-http://deb.debian.org/debian}"
    rootfs="$(mktemp -d "$DIR/rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs"' EXIT
    say "building $BASE_IMAGE with debootstrap from $mirror (about a minute)"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$DIR/debootstrap.log" 2>&1 \
        || { say "debootstrap failed; see $DIR/debootstrap.log"; exit 1; }
    tar -C "$rootfs" -c . | podman import - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
fi

echo "DOCKER_HOST=unix://$SOCK"
