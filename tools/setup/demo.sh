#!/usr/bin/env bash
# The main job on embedded defaults (see README): the fleet manager and two agents.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node tools/demo/fleet.mjs "$@"
