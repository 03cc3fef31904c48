"""GitHub Actions matrices for `bpkit changed --format matrix`.

GitHub refuses a matrix of more than 256 jobs, so a release job can take
several blueprints at once (`--per-job N`). One blueprint a job keeps the
original shape (`blueprint`, `path`) that existing workflows read.
"""

from __future__ import annotations

from collections.abc import Sequence

from bpkit.errors import UsageError

MAX_JOBS = 256  # GitHub's limit on the jobs one matrix may generate


def matrix(targets: Sequence[tuple[str, str]], per_job: int = 1) -> dict[str, list[dict[str, str]]]:
    """The `strategy.matrix` for `(name, path)` targets, `per_job` blueprints a job.

    With `per_job` 1 an entry is `{"blueprint": name, "path": path}`. Above 1
    an entry is `{"job": "1", "blueprints": "platform/a platform/b",
    "names": "a b"}` (space-separated, as a shell loop or `bpkit publish
    $BLUEPRINTS` reads them; blueprint paths hold no spaces). Raises
    UsageError when the matrix would exceed GitHub's job cap.
    """
    if per_job < 1:
        raise UsageError(f"--per-job must be at least 1, not {per_job}")
    jobs = -(-len(targets) // per_job)
    if jobs > MAX_JOBS:
        need = -(-len(targets) // MAX_JOBS)
        raise UsageError(f"{len(targets)} blueprints at {per_job} a job make {jobs} jobs, over "
                         f"GitHub's {MAX_JOBS}-job matrix cap: pass --per-job {need} or more")
    if per_job == 1:
        return {"include": [{"blueprint": name, "path": path} for name, path in targets]}
    include = []
    for number, start in enumerate(range(0, len(targets), per_job), start=1):
        chunk = targets[start:start + per_job]
        include.append({"job": str(number),
                        "blueprints": " ".join(path for _, path in chunk),
                        "names": " ".join(name for name, _ in chunk)})
    return {"include": include}
