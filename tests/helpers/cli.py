"""Run the real `bpkit` command in a subprocess, as users and CI do."""

from __future__ import annotations

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


def bpkit(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          stdin: str | None = None, timeout: float = 60) -> Run:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR", "GITHUB_OUTPUT",
                             "GITHUB_STEP_SUMMARY", "BPKIT_REGISTRY")}
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
