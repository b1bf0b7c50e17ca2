#!/usr/bin/env bash
# Set up and run every check: lint, format, types, content validation and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# The training page's browser test drives Debian's Chromium with its ChromeDriver (and shows
# Khmer with the KhmerOS fonts): install them where missing, from Debian's packages.
BROWSER_PACKAGES=(chromium chromium-driver fonts-khmeros)
if ! dpkg -s "${BROWSER_PACKAGES[@]}" >/dev/null 2>&1; then
    echo "== installing ${BROWSER_PACKAGES[*]} (Debian packages, for the browser test)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${BROWSER_PACKAGES[@]}" >/dev/null
fi
echo "== ruff check";          .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy --strict";       .venv/bin/mypy --strict
echo "== clgbt validate";      .venv/bin/clgbt validate
# Two workers: this machine has two cores. The slowest tests are started first, and a worker
# that runs out of tests takes queued ones from the other (worksteal), so the soak's queue does
# not wait behind it.
echo "== pytest";              .venv/bin/pytest -n 2 --dist worksteal "$@"
