"""One exception base, so the CLI can map every failure to an exit code.

Exit codes (documented in the README):
  0  clean / published
  1  problems found: lint errors, a refused or failed publish
  2  usage or environment error: bad options or settings, missing tools,
     nothing to work on
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class BpkitError(Exception):
    """An error whose message is fit to show a user on one line."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(BpkitError):
    """Bad arguments or settings: nothing was attempted."""


class ConfigError(BpkitError):
    """The repository's `[tool.bpkit]` settings are unusable."""


class LintFailed(BpkitError):
    """A step that needs a clean lint found errors (package, publish)."""

    exit_code = EXIT_PROBLEMS


class PackageError(BpkitError):
    """A chart cannot be packaged safely (escaping symlink, special file)."""

    exit_code = EXIT_PROBLEMS


class RegistryError(BpkitError):
    """The registry refused, failed or could not be reached."""

    exit_code = EXIT_PROBLEMS


class UpstreamError(BpkitError):
    """An upstream chart cannot be resolved, fetched or trusted (names repository and chart)."""

    exit_code = EXIT_PROBLEMS


class AuthError(RegistryError):
    """The registry rejected the credentials."""


class ImmutableReleaseError(BpkitError):
    """The tag already holds another digest and `--force` was not given."""

    exit_code = EXIT_PROBLEMS


class GitError(BpkitError):
    """The git history cannot answer the question (shallow clone, bad ref)."""


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class Interrupted(BpkitError):
    """The user pressed Ctrl-C (or the run was cancelled): stop, leave nothing half-done."""

    exit_code = EXIT_INTERRUPTED


class ReadBackError(RegistryError):
    """The tag does not serve the bytes just pushed (a concurrent publisher, a lying registry)."""
