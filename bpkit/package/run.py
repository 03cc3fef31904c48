"""`bpkit package` as one library call: options in, archives out.

    select -> load -> lint -> package what is clean -> write the archives

Also the packaging step of `bpkit publish` (`package_clean`). Nothing here
prints: the CLI shows the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bpkit.errors import BpkitError, GitError, PackageError, UsageError
from bpkit.lint.paths import Owners
from bpkit.lint.select import lint_selection
from bpkit.package.build import (
    Package,
    build_package,
    check_out_dir,
    epochs_for,
    packable,
    write_archive,
)
from bpkit.problem import Problem
from bpkit.settings import Settings
from bpkit.source.model import Blueprint


@dataclass(frozen=True)
class PackageOptions:
    """What one `bpkit package` run is asked to do (defaults as the CLI's)."""

    blueprints: tuple[str, ...] = ()  # names or paths
    all: bool = False
    out: str | None = None  # None: dist/ under the repository root
    mode: str | None = None  # "overlay" | "bundle"; None: [tool.bpkit] upstream-mode


@dataclass(frozen=True)
class Unpackaged:
    """A blueprint that was not packaged, and why (LintFailed: its lint found errors)."""

    blueprint: Blueprint
    error: BpkitError


@dataclass
class PackageRun:
    written: list[tuple[Path, Package]] = field(default_factory=list)
    failed: list[Unpackaged] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def package_clean(blueprints: Sequence[Blueprint], problems: Sequence[Problem],
                  mode_for: Callable[[Path], str] | None = None, *,
                  root: Path | None = None) -> tuple[list[Package], list[Unpackaged]]:
    """Package every blueprint whose lint is clean; the others say why not.

    `mode_for(folder)` gives each blueprint's release mode (default overlay).
    A package that would be hollow (see `bpkit.verify.hollow`) is refused
    here, so neither `package` nor `publish` ever produces one. `root`, the
    repository every chart folder must resolve inside (the command's
    repository root; default: each blueprint's own, see `build_package`).

    UsageError (a bad SOURCE_DATE_EPOCH) and GitError (a shallow clone that
    cannot date the archives) are wrong for the whole run (exit 2): they are
    raised, not collected.
    """
    by_blueprint: dict[Path, list[Problem]] = {bp.path: [] for bp in blueprints}
    owning = Owners(bp.path for bp in blueprints)
    for problem in problems:
        owner = owning(problem.path)
        if owner is not None:
            by_blueprint[owner].append(problem)
    packages: list[Package] = []
    failed: list[Unpackaged] = []
    epochs = epochs_for([bp for bp in blueprints if packable(bp, by_blueprint[bp.path])])
    for bp in blueprints:
        try:
            mode = mode_for(bp.path) if mode_for is not None else "overlay"
            package = build_package(bp, by_blueprint[bp.path], mode=mode, root=root,
                                    known_epoch=epochs.get(bp.path))
            _refuse_hollow(package)
            packages.append(package)
        except (UsageError, GitError):
            raise
        except BpkitError as exc:
            failed.append(Unpackaged(bp, exc))
    return packages, failed


def _refuse_hollow(package: Package) -> None:
    """Run verify's checks on the artifact in memory; PackageError when any fails."""
    from bpkit.verify.check import verify_artifact

    report = verify_artifact(package.artifact)
    if not report.ok:
        first = report.findings[0]
        more = f" (and {len(report.findings) - 1} more)" if len(report.findings) > 1 else ""
        raise PackageError(f"{package.blueprint.group}/{package.blueprint.name}: refusing to "
                           f"release {package.name}:{package.artifact.tag} ({package.mode}): "
                           f"{first.message}{more}")


def package(settings: Settings, options: PackageOptions, *,
            on_lint: Callable[[list[Problem]], None] | None = None) -> PackageRun:
    """Lint and package what `options` select; write each clean one's archive.

    `on_lint` gets the lint problems before any archive is written.
    """
    selected, problems = lint_selection(settings, options.blueprints, options.all)
    out = Path(options.out) if options.out else settings.root / "dist"
    check_out_dir(out, selected)  # before anything is packaged or written
    packages, failed = package_clean(
        selected, problems, lambda path: options.mode or settings.mode_for(path),
        root=settings.root)
    if on_lint is not None:
        on_lint(problems)
    written = [(write_archive(pkg, out), pkg) for pkg in packages]
    return PackageRun(written, failed, problems)
