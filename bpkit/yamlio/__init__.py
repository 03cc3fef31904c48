"""YAML in and out: the fast, bounded loader (load) and in-place edits at node marks (edit)."""
