"""Run the real `bpkit` command: in a subprocess (`bpkit`) or in-process (`invoke`).

`bpkit()` starts a fresh interpreter, as users and CI do: use it where the
process itself is under test (what gets imported, peak memory, a terminal,
exit codes seen by a shell). `invoke()` runs the same entry point,
`bpkit.cli.main`, in the test process through click's CliRunner, with the
same environment clean-up and the same `Run` result: about ten times
faster, for tests about what the command says and does.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str
    peak_rss_mb: float = 0.0

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


# Never inherited from the developer's shell or CI: they change output or destination.
_CLEARED = ("GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
            "BPKIT_REGISTRY")


def bpkit(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          stdin: str | None = None, timeout: float = 60) -> Run:
    full_env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    # Measure the child's own peak memory with a tiny wrapper.
    # (VmHWM, not getrusage: ru_maxrss survives exec, so it would report the
    # pytest parent's peak.)
    code = ("import runpy, sys\n"
            "sys.argv = ['bpkit'] + sys.argv[1:]\n"
            "def peak():\n"
            "    for line in open('/proc/self/status'):\n"
            "        if line.startswith('VmHWM:'):\n"
            "            return int(line.split()[1])\n"
            "    return 0\n"
            "try:\n    runpy.run_module('bpkit', run_name='__main__')\n"
            "finally:\n    print('\\nBPKIT-PEAK-RSS-KB', peak(), file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=full_env,
                          input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)
    err_lines = proc.stderr.splitlines()
    peak = 0.0
    kept = []
    for line in err_lines:
        if line.startswith("BPKIT-PEAK-RSS-KB"):
            peak = int(line.split()[1]) / 1024
        else:
            kept.append(line)
    err = "\n".join(kept).strip("\n")
    return Run(proc.returncode, proc.stdout, err + ("\n" if err else ""), peak)


def invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
           stdin: str | None = None) -> Run:
    """`bpkit ARGS` in this process; the same result as `bpkit()`, without the peak memory.

    The working directory, environment, standard streams and the garbage
    collector's settings (`bpkit lint` tunes them) are restored afterwards.
    """
    from click.testing import CliRunner

    from bpkit.cli import main

    overrides: dict[str, str | None] = dict.fromkeys(_CLEARED)
    overrides.update(env or {})
    old_cwd = Path.cwd()
    thresholds = gc.get_threshold()
    code = 0
    with CliRunner().isolation(input=stdin, env=overrides) as (out, err, _):
        try:
            if cwd is not None:
                os.chdir(cwd)
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.chdir(old_cwd)
            gc.unfreeze()
            gc.set_threshold(*thresholds)
        stdout = out.getvalue().decode("utf-8", "replace").replace("\r\n", "\n")
        stderr = err.getvalue().decode("utf-8", "replace").replace("\r\n", "\n").strip("\n")
    return Run(code, stdout, stderr + ("\n" if stderr else ""))
