#!/usr/bin/env bash
# Installs openapi-python-client (pinned, from PyPI) into a virtualenv cached outside the repo; prints
# the virtualenv's path as the last line. The generated client's runtime deps (httpx, attrs,
# python-dateutil) come with it. Idempotent.
set -euo pipefail
bash "$(dirname "$0")/../pip-tool.sh" openapi-python-client 0.29.1 openapi-python-client
