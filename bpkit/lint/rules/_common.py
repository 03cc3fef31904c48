"""Small helpers several rules share."""

from __future__ import annotations

from typing import Any

from bpkit.yamlio.load import Document


def mapping(doc: Document | None) -> dict[str, Any] | None:
    """The document's top-level mapping, or None (another rule reports why)."""
    if doc is None or not isinstance(doc.data, dict):
        return None
    return doc.data


def describe_type(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
