#!/usr/bin/env bash
# Sets up and starts the gateway on its embedded default: PGlite in ./.berth, plus the local Docker
# engine as cluster "local" when its socket answers. Needs only Node 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/../../.."
source packages/testenv/pnpm.sh
echo "berth: installing dependencies (pnpm $PNPM_VERSION)" >&2
$PNPM install --frozen-lockfile
echo "berth: building" >&2
$PNPM run build
echo "berth: starting the gateway on http://${BERTH_HOST:-127.0.0.1}:${BERTH_PORT:-8080}" >&2
exec node apps/gateway/dist/main.js
