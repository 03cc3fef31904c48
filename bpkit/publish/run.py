"""`bpkit publish` as one library call: options in, outcomes out (twine's upload() shape).

    select (names, --all or a release tag) -> load -> lint -> package
    -> push or check (in parallel) -> outcomes, in the order selected

Nothing here prints: the CLI renders the run with bpkit.report.publish.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bpkit.errors import UsageError
from bpkit.lint.select import lint_selection
from bpkit.package.build import check_out_dir
from bpkit.problem import Problem
from bpkit.publish.destination import Destination, resolve_destination
from bpkit.publish.options import PublishOptions
from bpkit.publish.pipeline import Outcome, RequestHook, RetryHook, prepare, push_all
from bpkit.settings import Settings
from bpkit.text import redact


@dataclass
class PublishRun:
    """What a publish run did: one outcome per selected blueprint."""

    destination: Destination
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # lint findings, shown before outcomes
    single: bool = False  # exactly one blueprint was asked for (a name or --tag, not a folder)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def publish(settings: Settings, options: PublishOptions, *,
            on_lint: Callable[[list[Problem]], None] | None = None,
            on_done: Callable[[Outcome], None] | None = None,
            on_retry: RetryHook | None = None, on_request: RequestHook | None = None,
            env: Mapping[str, str] | None = None, stdin: TextIO | None = None) -> PublishRun:
    """Lint, package and publish (or, with dry_run, check) what `options` select.

    `on_lint` gets the lint problems once packaging is done, before any
    push; `on_done` gets each outcome as it is known (a progress display);
    `on_retry(host, doing, seconds, why)` hears of each retry before its
    pause and `on_request(method, path, status)` of each HTTP request
    (registry destinations; called on the pushing thread, like `on_done`).
    Nothing here prints: those callables decide what a person sees.
    Outcome messages are redacted of the destination's credentials.
    Raises UsageError for a bad selection or destination (exit 2), and
    for a release tag whose version is not the chart's (exit 1).
    """
    paths = None
    tag = None
    if options.release_tag is not None:
        if options.blueprints or options.all:
            raise UsageError("--tag names the blueprint itself: give no names and no --all")
        from bpkit.publish.tags import parse_tag

        tag = parse_tag(options.release_tag, settings.root, settings.roots)
        paths = [(settings.root / tag.folder).resolve()]
    selected, problems = lint_selection(settings, options.blueprints, options.all, paths)
    if tag is not None:
        version = selected[0].version
        if version != tag.version:
            found = f"says {version}" if version else "has no usable version"
            raise UsageError(f"release tag {options.release_tag} says {tag.version} but "
                             f"{tag.folder}/chart/Chart.yaml {found}", exit_code=1)
    dest = resolve_destination(settings, options, env=env, stdin=stdin)
    if dest.layout is not None:  # inside a chart, the next release would package it
        check_out_dir(dest.layout, selected, option="--layout")
    packages, outcomes = prepare(selected, problems,
                                 lambda path: options.mode or settings.mode_for(path),
                                 root=settings.root)
    if on_lint is not None:
        on_lint(problems)
    if on_done is not None:
        for outcome in outcomes:
            on_done(outcome)
    outcomes += push_all(packages, dest, force=options.force, dry_run=options.dry_run,
                         jobs=options.jobs, on_done=on_done, on_retry=on_retry,
                         on_request=on_request)
    order = {str(bp.path): i for i, bp in enumerate(selected)}
    outcomes.sort(key=lambda o: order.get(str(settings.root / o.blueprint), 0))
    secrets = dest.secrets()
    for outcome in outcomes:
        outcome.message = redact(outcome.message, secrets)
    single = tag is not None or (not options.all and len(options.blueprints) == 1
                                 and len(selected) == 1 and _names_one(options.blueprints[0]))
    return PublishRun(dest, options.dry_run, outcomes, problems, single)


def _names_one(arg: str) -> bool:
    """Whether a command-line argument names one blueprint, not a folder of them.

    `results` is always a list; scalar outputs only make sense when the
    question itself was about one blueprint, whatever a folder holds today.
    """
    from bpkit.source.discover import is_blueprint_dir

    path = Path(arg)
    return not path.is_dir() or is_blueprint_dir(path)
