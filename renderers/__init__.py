"""Registry of suites. Adding a suite is adding one module here that calls ``register``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from renderers.base import Availability, Renderer, RenderOutcome, Status, Task

_REGISTRY: dict[str, type[Renderer]] = {}
_INFRASTRUCTURE = {"base", "command", "process", "output", "uno_listener", "wps_driver"}


def register(cls: type[Renderer]) -> type[Renderer]:
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _INFRASTRUCTURE:
            importlib.import_module(f"{__name__}.{module.name}")


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def renderer_class(name: str) -> type[Renderer] | None:
    """The registered class, for what it says of itself (`is_reference`, `label`), without
    starting anything; None for a name this harness does not know (an older store's)."""
    _load_all()
    return _REGISTRY.get(name)


def get(name: str, scratch_dir: Path | None = None) -> Renderer:
    """A new instance of the named suite; per-worker state (profiles) lives in scratch_dir."""
    _load_all()
    return _REGISTRY[name](scratch_dir=scratch_dir)


__all__ = ["Availability", "Renderer", "RenderOutcome", "Status", "Task", "get", "names", "register",
           "renderer_class"]
