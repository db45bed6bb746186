"""Late binding for per-world pieces (pages, figures) that live in modules of their own."""

from __future__ import annotations

import importlib
from typing import Any


def resolve(ref: Any) -> Any:
    """`ref` itself, or the object a "package.module:name" string names (imported now)."""
    if not isinstance(ref, str):
        return ref
    module_name, _, attribute = ref.partition(":")
    if not attribute:
        raise ValueError(f"bad plug-in reference {ref!r}: expected 'package.module:name'")
    return getattr(importlib.import_module(module_name), attribute)
