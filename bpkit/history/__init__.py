"""Git history: small git functions, changed blueprints, archive timestamps, version-gate facts.

Only this package runs git (the executable, with deadlines; no git library)."""
