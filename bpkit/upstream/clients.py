"""What resolving and listing upstreams share for one run: mirrors and network clients.

`bpkit upstream lock/fetch` (Resolver) and `outdated/bump` (OfferSource)
both map a repository to its mirror, keep one Helm repository client (one
index download per repository per run) and one registry client per OCI
source, count their requests and close them at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bpkit.settings import DEFAULT_RETRY_BUDGET, mirrors_from_env, normalize_repo

if TYPE_CHECKING:
    from bpkit.net.helmrepo import HelmRepoClient
    from bpkit.net.registry import RegistryTarget


class Upstreams:
    """Mirrors, one Helm repository client and one client per registry, made on first use."""

    def __init__(self, *, mirrors: Mapping[str, str] | None = None,
                 env: Mapping[str, str] = os.environ, ca_file: str | Path | None = None,
                 retry_budget: float = DEFAULT_RETRY_BUDGET, index_dir: Path | None = None,
                 helm_factory: Callable[[], HelmRepoClient] | None = None) -> None:
        merged = {normalize_repo(k): v for k, v in (mirrors or {}).items()}
        merged.update(mirrors_from_env(env.get("BPKIT_MIRRORS")))
        self.mirrors = merged
        self.env = env
        self.ca_file = ca_file
        self.retry_budget = retry_budget
        self.index_dir = index_dir
        self._helm_factory = helm_factory
        self._helm: HelmRepoClient | None = None
        self._registries: dict[str, RegistryTarget] = {}

    def source_for(self, repo: str) -> str:
        """Where `repo` is really fetched from: its mirror, or itself."""
        return self.mirrors.get(normalize_repo(repo), normalize_repo(repo))

    def helm_client(self) -> HelmRepoClient:
        if self._helm is None:
            if self._helm_factory is not None:
                self._helm = self._helm_factory()
            else:
                from bpkit.net.helmrepo import HelmRepoClient

                self._helm = HelmRepoClient(ca_file=self.ca_file, env=self.env,
                                            retry_budget=self.retry_budget,
                                            cache_dir=self.index_dir)
        return self._helm

    def registry(self, source: str) -> RegistryTarget:
        if source not in self._registries:
            from bpkit.net import credentials
            from bpkit.net.registry import RegistryTarget
            from bpkit.oci.reference import parse_registry

            ref = parse_registry(source)
            creds = credentials.resolve(ref.host, env=self.env)
            self._registries[source] = RegistryTarget(
                ref, credentials=creds, ca_file=self.ca_file, retry_budget=self.retry_budget)
        return self._registries[source]

    @property
    def request_count(self) -> int:
        count = self._helm.request_count if self._helm is not None else 0
        return count + sum(t.request_count for t in self._registries.values())

    def close(self) -> None:
        if self._helm is not None:
            self._helm.close()
        for target in self._registries.values():
            target.close()
