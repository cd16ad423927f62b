#!/usr/bin/env bash
# Installs openapi-python-client (pinned, from PyPI) into a virtualenv cached outside the repo; prints
# the virtualenv's path as the last line. The generated client's runtime deps (httpx, attrs,
# python-dateutil) come with it. Idempotent.
set -euo pipefail
VERSION=0.29.1
VENV="${BERTH_CACHE:-$HOME/.cache/berth}/openapi-python-client-$VERSION"
if [ ! -x "$VENV/bin/openapi-python-client" ]; then
  echo "berth: installing openapi-python-client $VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "openapi-python-client==$VERSION" >&2
fi
echo "$VENV"
