"""`bpkit new`: a new blueprint folder that lints clean at once."""
