"""What the tests share: one git helper, blueprint builders, CLI runners.

- `git`: `git()` (the one way tests run git), commits, monorepos.
- `blueprints`: blueprint trees written into temporary folders.
- `artifacts`: small Helm-shaped OCI artifacts with correct digests.
- `cli`: `bpkit()` runs the real command in a subprocess (for what needs a
  process of its own: import cost, peak memory, exit codes from a shell);
  `invoke()` runs it in-process through click's CliRunner (faster).
- `publish`: running `bpkit publish` against the test registries.

Test modules import from here, never from each other.
"""
