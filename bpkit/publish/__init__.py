"""The publish stage: destinations, release tags, and the push pipeline."""
