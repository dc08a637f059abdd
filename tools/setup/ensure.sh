#!/usr/bin/env bash
# Brings a fresh Debian machine to the point where NetMirror builds, runs and
# tests: Debian packages, npm packages, the native addon, the TypeScript build.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Debian packages: libpcap (BPF compiler for the native addon), the third-party
# decoders the tests check our output with, and the tools tests drive;
# protoc and the well-known .proto files (google/protobuf/*.proto, in
# libprotobuf-dev) generate libs/fleet-api and check it has not drifted.
PACKAGES=(libpcap-dev libxdp-dev libbpf-dev g++ make python3 tshark tcpdump iproute2 socat protobuf-compiler libprotobuf-dev netsniff-ng)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages (this also builds the native addon with node-gyp).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
addon=firmware-bindings/native/build/Release/netmirror_native.node
# Rebuilt when missing or older than its sources (a pull that adds native code).
if [ ! -f "$addon" ] || [ -n "$(find firmware-bindings/native/csrc firmware-bindings/native/binding.gyp -newer "$addon" | head -1)" ]; then
  echo "setup: building the native addon"
  (cd firmware-bindings/native && npx --no-install node-gyp rebuild >/dev/null)
fi

# TypeScript, incrementally.
npx --no-install tsc -b tsconfig.json
(cd apps/agent && npx --no-install rolldown -c rolldown.config.mjs >/dev/null)
