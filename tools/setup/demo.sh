#!/usr/bin/env bash
# The main job on embedded defaults (see README).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node tools/demo/offline.mjs
