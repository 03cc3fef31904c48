"""Formatters: problems, publish results and changes as text, JSON, SARIF and GitHub output.

Library code never prints; the CLI hands results to these."""
