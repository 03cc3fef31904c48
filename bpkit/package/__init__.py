"""The package stage: a linted blueprint in, a reproducible chart archive and OCI artifact out."""
