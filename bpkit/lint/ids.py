"""Every lint rule's id, without importing the rules.

Settings check the rule names in pyproject.toml against these on every
command, and a warm `bpkit lint` answered from its run record imports no
rule module (together they cost about 60 ms). tests/test_rule_examples.py keeps this
list equal to the registry in bpkit.lint.rules.
"""

RULE_IDS = frozenset({
    "blueprint-chart-path", "blueprint-name", "blueprint-schema", "blueprint-unknown-key",
    "blueprint-version", "chart-api-version", "chart-dependencies", "chart-files", "chart-name",
    "chart-schema", "chart-type", "chart-vendored", "chart-version", "depends-cycle",
    "depends-target", "depends-version", "file-missing", "file-unreadable",
    "overlay-subchart-key", "overlay-values", "upstream-block", "upstream-chart",
    "upstream-lock", "upstream-opt-out", "upstream-repo", "upstream-version", "version-bump",
    "yaml-ambiguous-scalar", "yaml-duplicate-key", "yaml-encoding", "yaml-limits",
    "yaml-syntax",
})
