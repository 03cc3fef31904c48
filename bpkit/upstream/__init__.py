"""Upstream charts: resolve, verify, cache and lock what a wrapper installs."""
