"""A fleet of `fidelity worker`s on a real loopback Dask cluster: a `dask scheduler`
subprocess and worker subprocesses, one with the x2t stand-in (tests/fakes/fake_x2t.py) on
its environment and one without. Jobs go only where their suite is; a suite nobody offers is
unavailable within the bounded wait; a worker killed mid-job leaves every job classified and
no process behind; renderings come back as files, the large ones in chunks, never outside
the artifacts folder; sweeps sharing a fleet keep their files, processes and settings apart;
a worker stopped politely hands its jobs on; losing the scheduler ends the sweep cleanly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from harness.executors import transfer
from harness.executors.dask_cluster import (SweepOnWorker, _Dispatch, _JobEnvironment,
                                            release_sweep, run_remote)
from harness.executors.fleet import fleet_of
from tests.conftest import REPO, SHARED, needs_libreoffice, needs_shared
from tests.fakes.fake_x2t import install as install_x2t

DASK = Path(sys.executable).parent / "dask"
DOCUMENTS = ("header_footer.docx", "SH101-SimpleFormats.xlsx", "lo_crop-position.pptx")

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not DASK.exists(), reason=f"no dask command at {DASK}")]


def fidelity(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=timeout,
                          env=dict(os.environ, CI="", **(env or {})))


class Cluster:
    """A scheduler and `fidelity worker`s, each in a session of its own; all ended at close."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        info = folder / "scheduler.json"
        self._start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(info)], {})
        deadline = time.monotonic() + 30
        while not info.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")
        process = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, CI="", **env), start_new_session=True)
        self.processes[name] = process
        return process

    def worker(self, name: str, env: dict[str, str], *options: str) -> subprocess.Popen:
        return self._start(name, [sys.executable, "-m", "harness", "worker", self.address,
                                  "--name", name, *options], env)

    def wait_for(self, names: set[str], seconds: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                info = client.scheduler_info(n_workers=-1)["workers"].values()
                if names <= {w["name"] for w in info}:
                    return
                time.sleep(0.3)
        raise AssertionError(f"workers {names} did not connect: " + " | ".join(
            (self.folder / f"{n}.log").read_text()[-500:] for n in names))

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in DOCUMENTS:
        shutil.copy(SHARED / "office2pdf-fixtures" / name, folder / name)
    return folder


def _results(out: Path) -> list:
    from harness.store import Store

    with Store(out / "fidelity.sqlite") as store:
        return list(store.results(store.run().id))


def _running(needle: str) -> list[str]:
    """Command lines of live processes that mention `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = (entry / "stat").read_text().split(") ")[-1][:1]
                if needle in line and state != "Z":
                    found.append(line)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A scheduler; worker `oo` with the x2t stand-in (OnlyOffice and LibreOffice), worker
    `lo` without it (every suite installed here, so not OnlyOffice)."""
    folder = tmp_path_factory.mktemp("fleet")
    x2t = install_x2t(folder / "oo")
    cluster = Cluster(folder / "cluster")
    try:
        cluster.worker("oo", {"ONLYOFFICE_X2T": str(x2t)},
                       "--suite", "onlyoffice", "--suite", "libreoffice")
        cluster.worker("lo", {"ONLYOFFICE_X2T": str(folder / "absent")})
        cluster.wait_for({"oo", "lo"})
        yield cluster
    finally:
        cluster.close()
    assert not _running(str(folder)), "a worker or suite outlived the cluster"


def test_a_worker_refuses_a_suite_it_does_not_have_in_one_line():
    unknown = fidelity("worker", "tcp://127.0.0.1:9", "--suite", "nosuch")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1, unknown.stderr
    assert "unknown suite nosuch" in unknown.stderr
    missing = fidelity("worker", "tcp://127.0.0.1:9", "--suite", "wps",
                       env={"WPS_OFFICE_HOME": "/nonexistent"})
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing.stderr
    assert "not available on this machine: wps" in missing.stderr


def test_suites_on_a_scheduler_says_which_worker_offers_what(fleet):
    listed = fidelity("suites", "--scheduler", fleet.address, "--json")
    assert listed.returncode == 0, listed.stderr
    workers = {w["name"]: w for w in json.loads(listed.stdout)["workers"]}
    assert set(workers["oo"]["suites"]) == {"onlyoffice", "libreoffice"}
    assert "onlyoffice" not in workers["lo"]["suites"]
    assert "libreoffice" in workers["lo"]["suites"]
    assert workers["oo"]["suites"]["onlyoffice"]["executable"].endswith("converter/x2t")
    assert workers["oo"]["suites"]["libreoffice"]["version"] \
        == workers["lo"]["suites"]["libreoffice"]["version"] is not None
    assert "show" in workers["oo"]["suites"]["onlyoffice"]["tasks"]
    text = fidelity("suites", "--scheduler", fleet.address)
    assert "onlyoffice: version" in text.stdout and "lo (tcp://" in text.stdout


@needs_libreoffice
@needs_shared
def test_each_job_runs_where_its_suite_is_and_libreoffice_matches_a_local_run(fleet,
                                                                               tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    remote = fidelity("run", "--corpus", str(corpus), "--suite", "onlyoffice", "--suite",
                      "libreoffice", "--task", "show", "--out", str(tmp_path / "fleet"),
                      "--scheduler", fleet.address, "--worker-wait", "10", "--no-report")
    assert remote.returncode == 0, remote.stderr[-2000:]
    results = _results(tmp_path / "fleet")
    onlyoffice = [r for r in results if r.suite == "onlyoffice"]
    # the coordinator has no x2t: only the worker that has one could have made these
    assert len(onlyoffice) == len(DOCUMENTS)
    assert {str(r.status) for r in onlyoffice} == {"ok"}, [r.message for r in onlyoffice]
    assert all(r.suite_run.via == "x2t" for r in onlyoffice)
    assert {r.suite_run.worker for r in onlyoffice} == {"oo"}  # traced to the desk that made it
    local = fidelity("run", "--corpus", str(corpus), "--suite", "libreoffice", "--task",
                     "show", "--out", str(tmp_path / "local"), "--no-report")
    assert local.returncode == 0, local.stderr[-2000:]

    def outcome(rows):
        return {(r.document, str(r.status), r.grade) for r in rows if r.suite == "libreoffice"}

    assert outcome(results) == outcome(_results(tmp_path / "local"))
    assert len(outcome(results)) == len(DOCUMENTS)
    with __import__("harness.store", fromlist=["Store"]).Store(
            tmp_path / "fleet" / "fidelity.sqlite") as store:
        run_id = store.run().id
    for r in results:  # renderings came back as files beside the store
        for page in (r.details or {}).get("pages", ()):
            assert (tmp_path / "fleet" / "artifacts" / run_id / page).is_file()


@needs_shared
def test_a_suite_no_worker_advertises_is_unavailable_within_the_wait(fleet, tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    start = time.monotonic()
    done = fidelity("run", "--corpus", str(corpus), "--suite", "msoffice", "--suite", "wps",
                    "--task", "show", "--out", str(tmp_path / "out"), "--scheduler",
                    fleet.address, "--worker-wait", "3", "--no-report")
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - start < 45
    wps = [r for r in _results(tmp_path / "out") if r.suite == "wps"]
    assert len(wps) == len(DOCUMENTS)
    assert {str(r.status) for r in wps} == {"unavailable"}
    assert all(r.message == "no worker advertises wps" for r in wps), wps[0].message


def test_a_scheduler_without_workers_ends_the_sweep_after_the_wait(tmp_path):
    cluster = Cluster(tmp_path / "cluster")
    try:
        start = time.monotonic()
        done = fidelity("run", "--corpus", str(REPO / "corpus" / "probes"), "--suite",
                        "libreoffice", "--task", "show", "--out", str(tmp_path / "out"),
                        "--scheduler", cluster.address, "--worker-wait", "2", "--no-report")
        took = time.monotonic() - start
    finally:
        cluster.close()
    assert done.returncode == 3, done.stderr[-2000:]
    assert "no worker connected to the Dask scheduler" in done.stderr
    assert "within 2 s" in done.stderr and took < 40
    assert "yet; waiting up to 2 s" in done.stderr  # said while it waits, not only after


@needs_libreoffice
@needs_shared
def test_a_worker_killed_mid_job_leaves_every_job_classified_and_nothing_running(tmp_path):
    x2t = install_x2t(tmp_path / "oo")
    corpus = _corpus(tmp_path / "corpus")
    cluster = Cluster(tmp_path / "cluster")
    try:
        doomed = cluster.worker("oo", {"ONLYOFFICE_X2T": str(x2t), "FAKE_X2T_EXIT": "hang"},
                                "--suite", "onlyoffice")
        cluster.worker("lo", {}, "--suite", "libreoffice")
        cluster.wait_for({"oo", "lo"})
        sweep = _sweep(cluster, corpus, tmp_path / "out", "3", "onlyoffice", "libreoffice")
        _until_running(str(x2t))
        doomed.kill()  # SIGKILL: no chance to stop its suite itself
        _, stderr = sweep.communicate(timeout=50)
        assert sweep.returncode == 0, stderr[-2000:]
    finally:
        if "sweep" in locals() and sweep.poll() is None:
            sweep.kill()
        cluster.close()
    results = _results(tmp_path / "out")
    assert len(results) == 2 * len(DOCUMENTS)
    onlyoffice = [r for r in results if r.suite == "onlyoffice"]
    assert {str(r.status) for r in onlyoffice} == {"unavailable"}
    assert all("no worker advertises onlyoffice any more" in r.message for r in onlyoffice)
    assert all(r.suite_run.harness_error for r in onlyoffice)  # tried again next time
    assert {str(r.status) for r in results if r.suite == "libreoffice"} == {"ok"}
    deadline = time.monotonic() + 5
    while _running(str(x2t)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(str(x2t)), "the killed worker's suite was left running"


@needs_shared
def test_a_job_whose_worker_dies_reruns_on_another_worker_with_the_suite(tmp_path):
    x2t = install_x2t(tmp_path / "oo")
    corpus = _corpus(tmp_path / "corpus")
    cluster = Cluster(tmp_path / "cluster")
    try:
        doomed = cluster.worker("stuck", {"ONLYOFFICE_X2T": str(x2t), "FAKE_X2T_EXIT": "hang"},
                                "--suite", "onlyoffice")
        cluster.wait_for({"stuck"})
        sweep = _sweep(cluster, corpus, tmp_path / "out", "30", "onlyoffice")
        _until_running(str(x2t))
        doomed.kill()  # mid-job; a healthy worker with the suite comes within the wait
        cluster.worker("healthy", {"ONLYOFFICE_X2T": str(x2t)}, "--suite", "onlyoffice")
        _, stderr = sweep.communicate(timeout=60)
        assert sweep.returncode == 0, stderr[-2000:]
    finally:
        if "sweep" in locals() and sweep.poll() is None:
            sweep.kill()
        cluster.close()
    results = _results(tmp_path / "out")
    assert len(results) == len(DOCUMENTS)
    assert {str(r.status) for r in results} == {"ok"}, [r.message for r in results]
    deadline = time.monotonic() + 5
    while _running(str(x2t)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(str(x2t)), "the killed worker's suite was left running"


def test_large_renderings_come_back_in_chunks_and_leave_nothing_on_the_worker(fleet,
                                                                               tmp_path):
    from distributed import Client

    sizes = {"doc/libreoffice/page-001.png": 2000,
             "doc/libreoffice/output.pdf": transfer.CHUNK_BYTES * 2 + 123,
             "doc/libreoffice/empty.txt": 0}

    def content(size: int) -> bytes:
        return bytes((i * 7 + size) % 251 for i in range(size))

    made = tmp_path / "made"  # loopback: the worker reads it as a job's artifacts folder
    for relative, size in sizes.items():
        (made / relative).parent.mkdir(parents=True, exist_ok=True)
        (made / relative).write_bytes(content(size))
    with Client(fleet.address, timeout=30) as client:
        address = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
                       if w["name"] == "lo")
        shipment = client.submit(transfer.pack, made, address, "feed1", workers=[address],
                                 pure=False).result()
        [pid] = client.run(os.getpid, workers=[address]).values()
        assert set(shipment.waiting) == {"doc/libreoffice/output.pdf"}
        box = (Path(tempfile.gettempdir()) / f"fidelity-{pid}-dask-feed1" / "outbox"
               / shipment.box)
        assert (box / "doc/libreoffice/output.pdf").is_file()
        transfer.unpack(shipment, tmp_path / "artifacts", client)
        client.run(release_sweep, "feed1", workers=[address])
        assert not box.parent.parent.exists()
    for relative, size in sizes.items():
        assert (tmp_path / "artifacts" / relative).read_bytes() == content(size)
    assert not box.exists()
    assert not list((tmp_path / "artifacts").rglob("*.part"))


def _job(corpus: Path, suite: str, tmp_path: Path):
    from harness.corpus.discover import discover
    from harness.pipeline import Job

    document = discover([corpus])[0]
    return Job(document, suite, tmp_path / "artifacts", tmp_path / "scratch", 60.0)


def test_renderings_that_would_land_outside_the_artifacts_folder_are_refused(tmp_path):
    target = tmp_path / "artifacts" / "run"
    (target / "doc").mkdir(parents=True)
    (target / "doc" / "away").symlink_to(tmp_path)  # a link inside leads out
    good = {"doc/libreoffice/page-001.png": b"png"}
    for bad in ("../escaped.png", "doc/../../escaped.png", str(tmp_path / "escaped.png"),
                "doc/away/escaped.png", "."):
        shipment = transfer.Shipment(None, "feed1", None, {**good, bad: b"x"})
        with pytest.raises(transfer.TransferRefused, match="outside"):
            transfer.unpack(shipment, target, client=None)
        assert not (tmp_path / "escaped.png").exists()
        assert not (target / "doc" / "libreoffice").exists(), "nothing is written"
    transfer.unpack(transfer.Shipment(None, "feed1", None, good), target, client=None)
    assert (target / "doc/libreoffice/page-001.png").read_bytes() == b"png"
    with pytest.raises(ValueError):
        transfer.sweep_folder("../x")


@needs_shared
def test_renderings_lost_or_refused_are_the_harness_s_matter_not_the_document_s(fleet,
                                                                                 tmp_path):
    from distributed import Client

    from harness.pipeline import result_without_rendering
    from renderers.base import RenderOutcome, Status

    job = _job(_corpus(tmp_path / "corpus"), "libreoffice", tmp_path)
    done = result_without_rendering(job.document, "libreoffice", "7",
                                    RenderOutcome(Status.OK, "", 1.0))
    with Client(fleet.address, timeout=30) as client:
        address = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
                       if w["name"] == "lo")
        dispatch = _Dispatch(client, fleet_of(client, fleet.address, ask=False), True,
                             fleet.address, 1.0, lambda result: None)
        # the worker holding the rest no longer has it (it left, or its outbox went)
        lost = transfer.Shipment(address, "feed1", "gone", {}, {"doc/lo/output.pdf": 10})
        refused = transfer.Shipment(address, "feed1", None, {"../../escaped.png": b"x"})
        results = {}
        for name, shipment in (("lost", lost), ("refused", refused)):
            future = client.submit(tuple, [done, shipment], pure=False)
            future.result()
            results[name] = dispatch._result_of(future, job)
    assert str(results["lost"].status) == "unavailable", results["lost"].message
    assert "could not be fetched" in results["lost"].message
    assert str(results["refused"].status) == "failed"
    assert "refused" in results["refused"].message
    assert all(r.suite_run.harness_error for r in results.values())  # rerun next time
    assert not list(tmp_path.rglob("escaped.png"))


def test_a_job_s_environment_is_its_own_and_restored_after_even_on_several_threads(
        monkeypatch):
    monkeypatch.setenv("FIDELITY_TEST_OWN", "worker's")
    monkeypatch.delenv("FIDELITY_TEST_SETTING", raising=False)
    environment = _JobEnvironment()
    sweeps = [{"FIDELITY_TEST_SETTING": "a", "FIDELITY_TEST_OWN": None},
              {"FIDELITY_TEST_SETTING": None, "FIDELITY_TEST_OWN": "b"}]
    seen: list[str] = []

    def job(settings):
        with environment.applied(settings):
            for _ in range(20):
                now = {k: os.environ.get(k) for k in settings}
                if now != settings:
                    seen.append(f"{settings} saw {now}")
                time.sleep(0.001)

    threads = [threading.Thread(target=job, args=(sweeps[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == []
    assert os.environ.get("FIDELITY_TEST_OWN") == "worker's"
    assert "FIDELITY_TEST_SETTING" not in os.environ


@needs_shared
def test_a_sweep_s_settings_do_not_stay_on_the_worker(fleet, tmp_path):
    from distributed import Client

    job = _job(_corpus(tmp_path / "corpus"), "onlyoffice", tmp_path)
    sweep = SweepOnWorker("feed2", {"FIDELITY_SUITE_NETWORK": "host"})
    with Client(fleet.address, timeout=30) as client:
        result, _ = client.submit(run_remote, job, job.document.path.read_bytes(), None,
                                  sweep, resources={"suite-onlyoffice": 1},
                                  pure=False).result()
        left = client.run(os.environ.get, "FIDELITY_SUITE_NETWORK")
        tags = client.run(os.environ.get, "FIDELITY_SWEEP_TAG")
        client.run(release_sweep, "feed2")
    assert str(result.status) == "ok", result.message
    assert set(left.values()) == {None}, left
    assert set(tags.values()) == {None}, tags


def test_the_end_of_one_sweep_leaves_another_sweep_s_files_and_suites_alone(fleet,
                                                                            tmp_path):
    from distributed import Client

    def start_suite(sweep: str) -> int:  # on the worker: a process of that sweep's job
        environment = dict(os.environ, FIDELITY_SWEEP_TAG=sweep)
        return subprocess.Popen(["sleep", "300"], env=environment,
                                start_new_session=True).pid

    for sweep in ("feed3", "feed4"):
        (tmp_path / sweep / "doc").mkdir(parents=True)
        (tmp_path / sweep / "doc" / "output.pdf").write_bytes(b"x" * (transfer.INLINE_BYTES
                                                                     + 1))
    with Client(fleet.address, timeout=30) as client:
        address = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
                       if w["name"] == "lo")
        [pid] = client.run(os.getpid, workers=[address]).values()
        shipments, suites = {}, {}
        for sweep in ("feed3", "feed4"):
            shipments[sweep] = client.submit(transfer.pack, tmp_path / sweep, address, sweep,
                                             workers=[address], pure=False).result()
            suites[sweep] = client.submit(start_suite, sweep, workers=[address],
                                          pure=False).result()
        folder = {s: Path(tempfile.gettempdir()) / f"fidelity-{pid}-dask-{s}"
                  for s in shipments}
        client.run(release_sweep, "feed3", workers=[address])
        assert not folder["feed3"].exists()
        assert _gone(suites["feed3"])
        # the other sweep's suite still runs and its renderings can still be fetched
        assert not _gone(suites["feed4"], seconds=0.5)
        transfer.unpack(shipments["feed4"], tmp_path / "fetched", client)
        assert (tmp_path / "fetched" / "doc" / "output.pdf").stat().st_size \
            == transfer.INLINE_BYTES + 1
        client.run(release_sweep, "feed4", workers=[address])
        assert not folder["feed4"].exists()
        assert _gone(suites["feed4"])


def _gone(pid: int, seconds: float = 5.0) -> bool:
    """Whether the process has ended (or is a zombie) within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] == "Z":
                return True
        except OSError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def test_references_wait_for_workers_as_long_as_asked(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    probe = next(p for p in sorted((REPO / "corpus" / "probes").iterdir())
                 if p.suffix == ".docx")
    shutil.copy(probe, corpus / probe.name)
    cluster = Cluster(tmp_path / "cluster")
    try:
        start = time.monotonic()
        done = fidelity("references", "--corpus", str(corpus), "--scheduler", cluster.address,
                        "--worker-wait", "1")
        took = time.monotonic() - start
    finally:
        cluster.close()
    assert done.returncode == 3, done.stderr[-2000:]
    assert "within 1 s" in done.stderr and took < 40, done.stderr
    assert not list(corpus.glob("*.reference.pdf"))


def test_a_profile_s_worker_wait_is_at_least_zero():
    from harness.config import profile
    from harness.errors import UsageError

    with pytest.raises(UsageError, match="worker_wait_seconds must be between 0"):
        profile("p", {"profiles": {"p": {"worker_wait_seconds": -1}}})
    assert profile("p", {"profiles": {"p": {"worker_wait_seconds": 0}}})[1] == {
        "worker_wait_seconds": 0}


def _sweep(cluster: Cluster, corpus: Path, out: Path, wait: str, *suites: str):
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--corpus", str(corpus),
         *(a for s in suites for a in ("--suite", s)), "--task", "show", "--out", str(out),
         "--scheduler", cluster.address, "--worker-wait", wait, "--no-report"], cwd=REPO,
        env=dict(os.environ, CI=""), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def _until_running(needle: str, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while not _running(needle) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running(needle), f"{needle} never started"


@needs_shared
def test_losing_the_scheduler_ends_the_sweep_with_every_job_classified(tmp_path):
    x2t = install_x2t(tmp_path / "oo")
    corpus = _corpus(tmp_path / "corpus")
    cluster = Cluster(tmp_path / "cluster")
    try:
        cluster.worker("stuck", {"ONLYOFFICE_X2T": str(x2t), "FAKE_X2T_EXIT": "hang"},
                       "--suite", "onlyoffice")
        cluster.wait_for({"stuck"})
        sweep = _sweep(cluster, corpus, tmp_path / "out", "30", "onlyoffice")
        _until_running(str(x2t))
        start = time.monotonic()
        cluster.processes["scheduler"].kill()  # mid-job, mid-sweep
        _, stderr = sweep.communicate(timeout=60)
        took = time.monotonic() - start
    finally:
        if "sweep" in locals() and sweep.poll() is None:
            sweep.kill()
        cluster.close()
    assert sweep.returncode == 0, stderr[-2000:]  # not 70, the harness's own failure
    assert took < 30, took  # neither the worker wait nor a reconnection is waited for
    assert "Traceback" not in stderr, stderr[-2000:]
    [warning] = [line for line in stderr.splitlines() if "lost the Dask scheduler" in line]
    assert warning.startswith("warning: ") and "run again next time" in warning
    results = _results(tmp_path / "out")
    assert len(results) == len(DOCUMENTS)
    assert {str(r.status) for r in results} == {"unavailable"}
    assert all("lost the Dask scheduler" in r.message for r in results)
    assert all(r.suite_run.harness_error for r in results)  # not cached: run again next time


@needs_shared
def test_a_worker_stopped_politely_hands_its_running_job_to_another(tmp_path):
    x2t = install_x2t(tmp_path / "oo")
    corpus = _corpus(tmp_path / "corpus")
    cluster = Cluster(tmp_path / "cluster")
    try:
        stopped = cluster.worker("stuck", {"ONLYOFFICE_X2T": str(x2t),
                                           "FAKE_X2T_EXIT": "hang"}, "--suite", "onlyoffice")
        cluster.wait_for({"stuck"})
        sweep = _sweep(cluster, corpus, tmp_path / "out", "30", "onlyoffice")
        _until_running(str(x2t))
        cluster.worker("healthy", {"ONLYOFFICE_X2T": str(x2t)}, "--suite", "onlyoffice")
        cluster.wait_for({"stuck", "healthy"})
        stopped.send_signal(signal.SIGTERM)  # as systemd or Ctrl-C would: mid-job
        assert stopped.wait(timeout=45) == 0, cluster.log("stuck")[-2000:]
        _, stderr = sweep.communicate(timeout=60)
        assert sweep.returncode == 0, stderr[-2000:]
    finally:
        if "sweep" in locals() and sweep.poll() is None:
            sweep.kill()
        cluster.close()
    results = _results(tmp_path / "out")
    assert len(results) == len(DOCUMENTS)
    assert {str(r.status) for r in results} == {"ok"}, [r.message for r in results]


@needs_libreoffice
@needs_shared
def test_a_sweep_ending_leaves_another_sweep_s_running_job_alone(tmp_path):
    x2t = install_x2t(tmp_path / "oo")
    corpora = {}
    for name, document in (("a", DOCUMENTS[0]), ("b", DOCUMENTS[1])):
        corpora[name] = tmp_path / f"corpus-{name}"
        corpora[name].mkdir()
        shutil.copy(SHARED / "office2pdf-fixtures" / document, corpora[name] / document)
    cluster = Cluster(tmp_path / "cluster")
    sweeps: list[subprocess.Popen] = []
    try:
        cluster.worker("stuck", {"ONLYOFFICE_X2T": str(x2t), "FAKE_X2T_EXIT": "hang"},
                       "--suite", "onlyoffice")
        cluster.worker("lo", {}, "--suite", "libreoffice")
        cluster.wait_for({"stuck", "lo"})
        sweeps.append(_sweep(cluster, corpora["b"], tmp_path / "out-b", "30", "onlyoffice"))
        _until_running(str(x2t))
        sweeps.append(_sweep(cluster, corpora["a"], tmp_path / "out-a", "30", "libreoffice"))
        _, stderr = sweeps[-1].communicate(timeout=120)
        assert sweeps[-1].returncode == 0, stderr[-2000:]
        # the sweep that ended told every worker to release it: only its own went
        assert _running(str(x2t)), "the end of one sweep killed another sweep's job"
    finally:
        for sweep in sweeps:
            if sweep.poll() is None:
                sweep.kill()
        cluster.close()
    assert {str(r.status) for r in _results(tmp_path / "out-a")} == {"ok"}
