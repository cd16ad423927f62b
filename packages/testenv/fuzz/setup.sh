#!/usr/bin/env bash
# Installs schemathesis (pinned, from PyPI) into a virtualenv cached outside the repo; prints the
# path of its `st` command as the last line. Idempotent.
set -euo pipefail
VERSION=4.32.5
VENV="${BERTH_CACHE:-$HOME/.cache/berth}/schemathesis-$VERSION"
if [ ! -x "$VENV/bin/st" ]; then
  echo "berth fuzz: installing schemathesis $VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
fi
echo "$VENV/bin/st"
