"""Git history: small git functions, changed blueprints, archive timestamps, version-gate facts.

Only this package imports gitpython, inside the functions that need it."""
