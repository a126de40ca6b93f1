"""The executor interface and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

from harness.errors import UsageError
from harness.pipeline import Job, JobResult
from renderers.base import Availability

Record = Callable[[JobResult], None]


class Executor(ABC):
    """Runs jobs; `record` is called in the coordinating process once per job, as results
    arrive, in any order. A job that kills whatever runs it still gets a result (`crashed`)."""

    name: str = ""

    @abstractmethod
    def run(self, jobs: list[Job], record: Record) -> None: ...

    def describe(self) -> dict[str, object]:
        """What the run's settings record about where it ran."""
        return {"executor": self.name}

    def availability(self, here: dict[str, Availability]) -> dict[str, Availability]:
        """Each suite as the places this executor runs jobs have it, given this machine's
        view (`here`): the same, unless jobs run elsewhere (a Dask fleet)."""
        return here


_REGISTRY: dict[str, type[Executor]] = {}


def register(cls: type[Executor]) -> type[Executor]:
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str, **options: object) -> Executor:
    if name not in _REGISTRY:
        raise UsageError(f"unknown executor {name}; known: {', '.join(names())}")
    return _REGISTRY[name](**options)
