#!/usr/bin/env bash
# Set up and run every check: lint, format, types, content validation and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "== ruff check";          .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy --strict";       .venv/bin/mypy --strict
echo "== clgbt validate";      .venv/bin/clgbt validate
echo "== pytest";              .venv/bin/pytest "$@"
