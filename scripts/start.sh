#!/usr/bin/env bash
# Set up and start the service: Telegram when a bot token and config.toml exist, otherwise
# the sandbox (an emulated Telegram on this computer with a terminal chat).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/clgbt run --or-sandbox "$@"
