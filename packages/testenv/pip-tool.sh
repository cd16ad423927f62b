#!/usr/bin/env bash
# Installs a pinned PyPI package into its own virtualenv cached outside the repo
# ($BERTH_CACHE or ~/.cache/berth/NAME-VERSION) unless its command is already there; prints the
# virtualenv's path as the last line. Idempotent. Usage: pip-tool.sh NAME VERSION COMMAND
set -euo pipefail
NAME=$1 VERSION=$2 COMMAND=$3
VENV="${BERTH_CACHE:-$HOME/.cache/berth}/$NAME-$VERSION"
if [ ! -x "$VENV/bin/$COMMAND" ]; then
  echo "berth: installing $NAME $VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$NAME==$VERSION" >&2
fi
echo "$VENV"
