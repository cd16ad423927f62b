#!/usr/bin/env bash
# The longer fuzzing run, on demand: `npm run fuzz` (default 10 minutes; BERTH_FUZZ_SECONDS to change).
# Starts a throwaway gateway on PGlite with the local swarm registered, fuzzes every operation of its
# OpenAPI document with a valid admin token, and fails on any 5xx or schema violation.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ST=$(bash packages/testenv/fuzz/setup.sh | tail -n 1)
export BERTH_SCHEMATHESIS="$ST" BERTH_FUZZ_SECONDS="${BERTH_FUZZ_SECONDS:-600}"
export DATABASE_URL="${DATABASE_URL:-unused}" BERTH_SKIP_KUBERNETES=1 BERTH_DOCKER_SOCKET=/var/run/docker.sock
exec node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects integration --testPathPatterns apps/gateway/test/fuzz --testTimeout "$(( (BERTH_FUZZ_SECONDS + 120) * 1000 ))"
