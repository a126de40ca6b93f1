"""A fleet of Dask workers that advertise their suites: `fidelity worker` on each machine.

A fleet worker offers each suite installed on its machine as a Dask *worker resource*
(``suite-libreoffice``, as many units as it has threads), so that the coordinator can send
a job only where its suite is. It also answers, when asked, what it offers: versions,
executables and tasks (``advertised``). A plain ``dask worker`` advertises nothing.
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import renderers
from harness import PIPELINE_VERSION, __version__
from harness.errors import NothingToDo, UsageError
from harness.processes.groups import WORKER_VARIABLE, kill_active_groups
from renderers.base import Availability, Task

RESOURCE_PREFIX = "suite-"
DEFAULT_WORKER_WAIT_SECONDS = 60.0
# Once a worker is there, how long the coordinator lets the others arrive before it plans
# with the suites advertised so far (never more than the bounded wait itself).
SETTLE_SECONDS = 5.0


def resource_name(suite: str) -> str:
    """The Dask worker resource a job of `suite` asks for."""
    return f"{RESOURCE_PREFIX}{suite}"


def suites_in(resources: dict[str, float] | None) -> frozenset[str]:
    """The suites a worker's resources advertise (none for a plain `dask worker`)."""
    return frozenset(k[len(RESOURCE_PREFIX):] for k, amount in (resources or {}).items()
                     if k.startswith(RESOURCE_PREFIX) and amount > 0)


@dataclass(frozen=True)
class OfferedSuite:
    version: str | None
    executable: str | None
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class Advertisement:
    """What a fleet worker offers, and the harness it runs (results are only comparable
    between workers of the same pipeline version)."""

    host: str
    nthreads: int
    suites: dict[str, OfferedSuite] = field(default_factory=dict)
    harness_version: str = __version__
    pipeline_version: int = PIPELINE_VERSION

    def resources(self) -> dict[str, float]:
        # One unit per thread: a suite instance is per thread, so every thread may run one.
        return {resource_name(name): float(self.nthreads) for name in self.suites}


def advertise(wanted: list[str] | None, nthreads: int) -> Advertisement:
    """The suites this machine offers, found as `fidelity suites` finds them; `wanted`
    limits them, and naming one that is unknown or not installed here is a usage error."""
    known = renderers.names()
    unknown = [n for n in wanted or () if n not in known]
    if unknown:
        raise UsageError(f"unknown suite {', '.join(unknown)}; known: {', '.join(known)}")
    offered: dict[str, OfferedSuite] = {}
    missing: list[str] = []
    for name in dict.fromkeys(wanted or known):
        with renderers.get(name) as renderer:
            found = renderer.availability()
            tasks = tuple(t.value for t in Task if t in renderer.tasks)
        if found.available:
            offered[name] = OfferedSuite(found.version, found.executable, tasks)
        elif wanted:
            missing.append(f"{name} ({found.reason})")
    if missing:
        raise UsageError(f"not available on this machine: {'; '.join(missing)}")
    if not offered:
        raise NothingToDo("no suite is available on this machine: nothing to offer")
    return Advertisement(host=platform.node(), nthreads=nthreads, suites=offered)


_ADVERTISED: Advertisement | None = None
# Set when this worker is told to stop: a job whose suite was killed on the way out asks to
# be rescheduled rather than report the document as having crashed.
_STOPPING = threading.Event()
# How long a stopping worker waits for the scheduler to take its jobs back.
RETIRE_SECONDS = 30.0


def advertised() -> Advertisement | None:
    """Run on a worker (`client.run`): what it offers; None on a plain `dask worker`."""
    return _ADVERTISED


def stopping() -> bool:
    """On a worker: whether it was told to stop (its running jobs go to another worker)."""
    return _STOPPING.is_set()


def unreachable(scheduler: str, exc: BaseException) -> UsageError:
    """The one-line error for a scheduler that cannot be reached, client or worker."""
    return UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}")


def connect(scheduler: str, timeout_seconds: float = 30):
    """A Dask client of `scheduler`; one that cannot be reached is a usage error."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=timeout_seconds)
    except OSError as exc:  # TimeoutError included
        raise unreachable(scheduler, exc) from None


def serve(scheduler: str, offer: Advertisement, name: str | None,
          connect_seconds: float) -> None:
    """Be a Dask worker of `scheduler` offering `offer`, until told to stop (SIGTERM,
    Ctrl-C) or the scheduler goes. Suites it starts carry its worker tag; a watchdog
    process kills them if this process is killed outright."""
    global _ADVERTISED
    _ADVERTISED = offer
    tag = os.environ.setdefault(WORKER_VARIABLE, uuid.uuid4().hex)
    watchdog = _start_watchdog(tag)
    try:
        asyncio.run(_serve(scheduler, offer, name, connect_seconds))
    finally:
        kill_active_groups()
        watchdog.terminate()


async def _serve(scheduler: str, offer: Advertisement, name: str | None,
                 connect_seconds: float) -> None:
    from distributed import Worker

    worker = Worker(scheduler, nthreads=offer.nthreads, name=name,
                    resources=offer.resources(), memory_limit=0,  # jobs bound their suites
                    death_timeout=connect_seconds, dashboard=False)
    loop = asyncio.get_running_loop()
    leaving: list[asyncio.Future] = []

    def stop() -> None:
        if leaving:  # told twice: no more waiting for the scheduler
            kill_active_groups()
            return
        _STOPPING.set()
        leaving.append(asyncio.ensure_future(_leave(worker)))

    _on_stop_signals(loop, stop)
    try:
        await worker
    except (OSError, TimeoutError) as exc:
        raise unreachable(scheduler, exc) from None
    print(f"fidelity worker {worker.name} at {worker.address}: offers "
          + ", ".join(f"{n} {s.version or ''}".strip() for n, s in offer.suites.items())
          + f" to {scheduler}", file=sys.stderr, flush=True)
    await worker.finished()


async def _leave(worker) -> None:
    """Leave the cluster without blaming a document: the scheduler is told first, so it
    stops sending jobs here and gives the running and queued ones to another worker with
    the suite (or holds them for one); only then are the suites still running here killed
    (their jobs' results are no longer wanted; closing would wait for them) and the worker
    closed. Jobs killed this way raise `Reschedule` too, should the scheduler not answer."""
    try:
        await asyncio.wait_for(worker.scheduler.retire_workers(
            workers=[worker.address], close_workers=False, remove=True,
            stimulus_id=f"fidelity-worker-stopped-{time.time()}"), RETIRE_SECONDS)
    except Exception:  # the scheduler is gone or slow: closing hands the jobs back anyway
        pass
    kill_active_groups()
    await worker.close(reason="fidelity worker stopped")


def _on_stop_signals(loop: asyncio.AbstractEventLoop, stop) -> None:
    """SIGINT and SIGTERM call `stop` on the event loop. Windows' event loops have no
    signal handlers: there Python's own `signal.signal` hands the signal to the loop."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        if sys.platform == "win32":
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop))
        else:
            loop.add_signal_handler(signum, stop)


_WATCHDOG = """
import os, sys, time
from harness.processes.groups import WORKER_VARIABLE, kill_tagged
parent, tag = int(sys.argv[1]), sys.argv[2]
while os.getppid() == parent:
    time.sleep(0.5)
kill_tagged(tag, WORKER_VARIABLE)
"""


def _start_watchdog(tag: str) -> subprocess.Popen:
    """A small process that outlives a worker killed with SIGKILL just long enough to kill
    the suites that worker left running (they carry its tag; the watchdog does not)."""
    env = {k: v for k, v in os.environ.items() if k != WORKER_VARIABLE}
    return subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), tag],
                            env=env, start_new_session=True, stdin=subprocess.DEVNULL)


@dataclass(frozen=True)
class FleetWorker:
    address: str
    name: str
    nthreads: int
    suites: frozenset[str]  # from its resources: what jobs the scheduler will route to it
    offer: Advertisement | None  # what it said it offers; None for a plain `dask worker`


@dataclass(frozen=True)
class Fleet:
    """The workers connected to a scheduler, as the coordinator sees them."""

    scheduler: str
    workers: tuple[FleetWorker, ...]

    @property
    def routed(self) -> bool:
        """Jobs go by suite once any worker advertises one; with only plain workers, any
        worker takes any job, as before fleets existed."""
        return any(w.suites for w in self.workers)

    def offering(self, suite: str) -> list[FleetWorker]:
        return [w for w in self.workers if suite in w.suites]

    def threads_for(self, suite: str) -> int:
        return sum(w.nthreads for w in self.offering(suite))

    def plain(self) -> list[FleetWorker]:
        return [w for w in self.workers if not w.suites]

    def availability(self, here: dict[str, Availability],
                     wait_seconds: float) -> dict[str, Availability]:
        """Each suite as the fleet offers it. No worker at all: every suite unavailable.
        Only plain workers: `here` (the coordinator's view), as before fleets existed."""
        if not self.workers:
            reason = (f"no worker connected to the Dask scheduler at {self.scheduler} "
                      f"within {wait_seconds:g} s")
            return {name: Availability(False, reason=reason) for name in here}
        if not self.routed:
            return dict(here)
        found = {}
        for name in here:
            versions = Counter(w.offer.suites[name].version for w in self.offering(name)
                               if w.offer is not None and name in w.offer.suites)
            if not self.offering(name):
                found[name] = Availability(False, reason=f"no worker advertises {name}")
            else:
                # several versions across the fleet: all named, so the cache key sees them
                found[name] = Availability(True, version=" | ".join(
                    sorted(str(v) for v in versions)) or None)
        return found


def fleet_of(client, scheduler: str, ask: bool = True) -> Fleet:
    """The connected workers; with `ask`, each one's advertisement too (one round trip)."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    offers = (client.run(advertised, on_error="return") if ask and info else {})
    workers = []
    for address, w in sorted(info.items()):
        offer = offers.get(address)
        workers.append(FleetWorker(
            address=address, name=str(w.get("name", address)),
            nthreads=int(w.get("nthreads", 1)), suites=suites_in(w.get("resources")),
            offer=offer if isinstance(offer, Advertisement) else None))
    return Fleet(scheduler, tuple(workers))


def wait_for_fleet(client, scheduler: str, suites: list[str], wait_seconds: float,
                   clock=None, say=None) -> tuple[Fleet, float]:
    """The fleet once every suite in `suites` is advertised, or once a worker has been
    there `SETTLE_SECONDS` (others may still be arriving), or after `wait_seconds` with no
    worker at all; and how long that took."""
    clock = clock or time.monotonic
    start = clock()
    first_seen: float | None = None
    told = say is None
    while True:
        fleet = fleet_of(client, scheduler, ask=False)
        now = clock()
        if not fleet.workers and not told:  # a silent minute reads as a hang
            say(f"no worker connected to {scheduler} yet; waiting up to {wait_seconds:g} s "
                "(--worker-wait)")
            told = True
        if fleet.workers and first_seen is None:
            first_seen = now
        offered = set().union(*(w.suites for w in fleet.workers)) if fleet.workers else set()
        if fleet.workers and (set(suites) <= offered
                              or now - first_seen >= min(SETTLE_SECONDS, wait_seconds)):
            break
        if now - start >= wait_seconds:
            break
        time.sleep(0.2)
    return fleet_of(client, scheduler), clock() - start
