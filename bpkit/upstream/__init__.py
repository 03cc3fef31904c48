"""Upstream charts: the cache, the repository index, outdated pins and bumps."""
