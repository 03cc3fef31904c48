#!/usr/bin/env bash
# Run one bpkit command for the GitHub Action (action.yml), its options
# taken from the action's inputs. The inputs arrive as environment
# variables, never spliced into the script, so no input can inject shell.
#
# Environment: BPKIT (the command install.sh installed), INPUT_COMMAND
# (lint, changed, publish, verify, render [flux], upstream lock|fetch),
# INPUT_PATHS (whitespace-separated), INPUT_BASE, INPUT_HEAD, INPUT_FORMAT,
# INPUT_REGISTRY, INPUT_STRICT, INPUT_SARIF_FILE, INPUT_PER_JOB,
# INPUT_DRY_RUN, INPUT_ARGS (more arguments, split like a shell would,
# without running one), INPUT_OUTPUT_FILE (a copy of standard output).
# bpkit itself writes matrix=, count= (changed) and results= (always a
# JSON list), plus ref=, digest=, version= for exactly one blueprint
# (publish) to $GITHUB_OUTPUT; the action's outputs read them from there.
set -euo pipefail

bpkit="${BPKIT:-bpkit}"
command="${INPUT_COMMAND:-}"
case "$command" in
  lint|changed|publish|verify) words=("$command") ;;
  render|"render flux") words=(render flux) ;;
  "upstream lock"|"upstream fetch") words=(upstream "${command#upstream }") ;;
  *)
    printf 'bpkit action: unknown command %q (one of: lint, changed, publish, verify, render, upstream lock, upstream fetch)\n' "$command" >&2
    exit 2 ;;
esac

flag() { # NAME VALUE OPTION: add OPTION when VALUE is true
  case "$2" in
    true) args+=("$3") ;;
    false|"") ;;
    *) printf 'bpkit action: input %s must be true or false, not %q\n' "$1" "$2" >&2; exit 2 ;;
  esac
}
option() { # VALUE OPTION: add OPTION VALUE when VALUE is set
  if [ -n "$1" ]; then args+=("$2" "$1"); fi
}

args=("${words[@]}")
option "${INPUT_BASE:-}" --base
option "${INPUT_HEAD:-}" --head
option "${INPUT_FORMAT:-}" --format
option "${INPUT_REGISTRY:-}" --registry
option "${INPUT_SARIF_FILE:-}" --sarif-file
option "${INPUT_PER_JOB:-}" --per-job
flag strict "${INPUT_STRICT:-}" --strict
flag dry-run "${INPUT_DRY_RUN:-}" --dry-run
if [ -n "${INPUT_ARGS:-}" ]; then
  # shlex in bpkit's own interpreter: quotes work, $(...) and globs do not run.
  python="$(dirname "$(command -v "$bpkit")")/python"
  [ -x "$python" ] || python=python3
  split=$(mktemp)
  "$python" -c '
import shlex, sys
try:
    words = shlex.split(sys.argv[1])
except ValueError as exc:
    sys.exit(f"bpkit action: input args: {exc}")
sys.stdout.write("".join(w + "\0" for w in words))' "$INPUT_ARGS" >"$split" || { rm -f "$split"; exit 2; }
  mapfile -d '' -t extra <"$split"
  rm -f "$split"
  args+=("${extra[@]}")
fi
read -r -d '' -a paths <<<"${INPUT_PATHS:-}" || true
if [ "${#paths[@]}" -gt 0 ]; then
  args+=(-- "${paths[@]}")
fi

if [ -n "${INPUT_OUTPUT_FILE:-}" ]; then
  "$bpkit" "${args[@]}" | tee "$INPUT_OUTPUT_FILE"
else
  exec "$bpkit" "${args[@]}"
fi
