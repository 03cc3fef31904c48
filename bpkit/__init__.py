"""bpkit: lint, package and publish Catalyst Blueprint wrapper charts."""

__version__ = "0.1.0"
