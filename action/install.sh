#!/usr/bin/env bash
# Install bpkit for the GitHub Action (action.yml) from the action's own
# checkout into a private virtual environment, every dependency at the exact
# version in requirements.txt. No package index decides which bpkit runs:
# the distribution on PyPI named "bpkit" is someone else's project.
#
# Environment: INPUT_PYTHON (interpreter, default python3), GITHUB_ACTION_PATH
# (the action's checkout; default: this script's repository), RUNNER_TEMP,
# BPKIT_ACTION_VENV (where the venv goes; default under RUNNER_TEMP).
# Writes bpkit=<path of the command> to $GITHUB_OUTPUT.
set -euo pipefail

action="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
python="${INPUT_PYTHON:-python3}"
pins="$action/action/requirements.txt"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "bpkit action: no Python interpreter '$python' on PATH (set the python input or use actions/setup-python)" >&2
  exit 2
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bpkit action: bpkit needs Python 3.11 or later; '$python' is $("$python" -c 'import platform; print(platform.python_version())')" >&2
  exit 2
fi

# One venv per action checkout and pin set, reused when a job runs the action twice.
key=$(cat "$pins" - <<<"$action" | sha256sum | cut -c1-16)
venv="${BPKIT_ACTION_VENV:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/bpkit-action-$key}"
if [ ! -x "$venv/bin/bpkit" ] || [ "$(cat "$venv/.bpkit-action-key" 2>/dev/null)" != "$key" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # PIP_CONSTRAINT (not -c) so the pins also hold inside pip's isolated
  # build environment, for hatchling and its dependencies.
  PIP_CONSTRAINT="$pins" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$venv/bin/python" -m pip install --quiet --no-input "$action"
  printf '%s' "$key" >"$venv/.bpkit-action-key"
fi
"$venv/bin/bpkit" --version
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "bpkit=$venv/bin/bpkit" >>"$GITHUB_OUTPUT"
fi
