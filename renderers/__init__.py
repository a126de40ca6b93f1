"""Registry of suites. Adding a suite is adding one module here that calls ``register``."""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

from renderers.base import (Availability, Renderer, RenderOutcome, Status, SuiteOption, Task,
                            option_key)
from harness.processes.groups import HARNESS_VARIABLES

_REGISTRY: dict[str, type[Renderer]] = {}
_INFRASTRUCTURE = {"base", "command", "output", "uno_listener", "wps_driver",
                   "msoffice_driver"}


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


def one_off(fmt: str | None = None) -> str | None:
    """The suite a one-off command uses when none is named: the installed suite (never the
    reference) that opens `fmt` (any format when None) with the lowest ``one_off_rank``."""
    _load_all()
    ranked = sorted((cls.one_off_rank, name) for name, cls in _REGISTRY.items()
                    if not cls.is_reference and (fmt is None or fmt in cls.formats))
    for _, name in ranked:
        with get(name) as renderer:
            if renderer.availability().available:
                return name
    return None


def options() -> list[tuple[str, SuiteOption]]:
    """Every registered suite's declared options, with the suite's name."""
    _load_all()
    return [(name, option) for name in sorted(_REGISTRY) for option in _REGISTRY[name].options]


def environment() -> tuple[str, ...]:
    """Every environment variable a job reads: the harness's own and each suite's. A remote
    worker is given exactly these, as the coordinator has them."""
    _load_all()
    return tuple(dict.fromkeys((*HARNESS_VARIABLES, *(
        v for name in sorted(_REGISTRY) for v in _REGISTRY[name].variables()))))


def use_one_off_defaults() -> None:
    """For a command that renders a document or two with no worker to keep warm: each
    option's one-off value, unless the environment already chose."""
    for _, option in options():
        if option.one_off is not None:
            os.environ.setdefault(option.variable, option.one_off)


def use_defaults() -> None:
    """Each option's default made explicit in the environment, unless already chosen."""
    for _, option in options():
        os.environ.setdefault(option.variable, option.default)


__all__ = ["Availability", "Renderer", "RenderOutcome", "Status", "SuiteOption", "Task",
           "environment", "get", "names", "one_off", "option_key", "options", "register",
           "renderer_class", "use_defaults", "use_one_off_defaults"]
