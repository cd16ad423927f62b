#!/usr/bin/env bash
# Installs schemathesis (pinned, from PyPI) into a virtualenv cached outside the repo; prints the
# path of its `st` command as the last line. Idempotent.
set -euo pipefail
VENV=$(bash "$(dirname "$0")/../pip-tool.sh" schemathesis 4.32.5 st | tail -n 1)
echo "$VENV/bin/st"
