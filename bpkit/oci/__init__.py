"""OCI: the reference grammar, Helm's artifact format, and the local image layout."""
