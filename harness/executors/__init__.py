"""Where a sweep's jobs run: a local process pool, or a Dask cluster. One module each.

An executor only runs jobs and hands their results back to the coordinating process, the
only one that writes the store. Adding one is adding a module with a registered class.
"""

from __future__ import annotations

from harness.executors.base import Executor, get, names, register

from harness.executors import local as _local  # noqa: F401  (registers itself)
from harness.executors import dask_cluster as _dask_cluster  # noqa: F401

__all__ = ["Executor", "get", "names", "register"]
