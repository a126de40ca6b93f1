"""Work done once per run: a source's truth and a reference's rendering are computed by the
first job that needs them and read back by the others; the outputs a person never opens
are not kept; page images are palettised."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from PIL import Image

from harness import pipeline, reuse
from harness.corpus.discover import discover
from harness.images import save_page_image
from harness.pipeline import Job, run_job
from harness.records import Artifacts, JobResult, Status, Task
from tests.conftest import SHARED, needs_libreoffice, needs_shared


def test_a_value_is_computed_once_per_run_and_read_back_by_another_process(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"words": ("a", "b")}

    assert reuse.once(tmp_path, "k", compute) == {"words": ("a", "b")}
    reuse.forget()  # as another worker process would find it: on disk only
    assert reuse.once(tmp_path, "k", compute) == {"words": ("a", "b")}
    assert len(calls) == 1
    assert reuse.once(tmp_path, "other", compute) == {"words": ("a", "b")}
    assert len(calls) == 2  # another key is another piece of work
    assert reuse.once(tmp_path / "another-run", "k", compute) and len(calls) == 3


def test_a_damaged_or_half_written_entry_is_computed_again(tmp_path):
    reuse.once(tmp_path, "k", lambda: 1)
    reuse.forget()
    (tmp_path / reuse.FOLDER / "k.pickle").write_bytes(b"\x80\x05garbage")
    assert reuse.once(tmp_path, "k", lambda: 2) == 2
    reuse.forget()
    assert reuse.once(tmp_path, "k", lambda: 3) == 2  # the recomputed value was kept


def test_only_the_latest_entries_stay_on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(reuse, "KEPT_ON_DISK", 5)
    for number in range(12):
        reuse.once(tmp_path, f"k{number}", lambda: number)
        os.utime(tmp_path / reuse.FOLDER / f"k{number}.pickle", ns=(number, number * 10**9))
    kept = sorted(p.stem for p in (tmp_path / reuse.FOLDER).glob("*.pickle"))
    assert kept == ["k10", "k11", "k7", "k8", "k9"]
    reuse.forget()
    assert reuse.once(tmp_path, "k0", lambda: "again") == "again"  # removed: computed anew


def test_threads_asking_at_once_all_get_the_value(tmp_path):
    errors, seen = [], []

    def ask(number):
        try:
            for round_ in range(200):
                seen.append(reuse.once(tmp_path, f"k{(number + round_) % 7}", lambda: "v"))
        except Exception as exc:  # noqa: BLE001 - any error is the failure
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and set(seen) == {"v"} and len(seen) == 800


def test_an_error_is_not_remembered(tmp_path):
    def fails():
        raise ValueError("no")

    with pytest.raises(ValueError):
        reuse.once(tmp_path, "k", fails)
    assert reuse.once(tmp_path, "k", lambda: "now") == "now"


def _result(grade, status=Status.OK, **artifacts) -> JobResult:
    return JobResult(corpus="c", document="d.docx", format="docx", suite="libreoffice",
                     suite_version="7.4", task=Task.SHOW, status=status, grade=grade,
                     message="", stderr="", suite_seconds=1.0, total_seconds=2.0,
                     artifacts=Artifacts(**artifacts))


@pytest.mark.parametrize("grade,status,keep,kept", [
    (5, Status.OK, False, False), (None, Status.OK, False, False),
    (4, Status.OK, False, True), (0, Status.OK, False, True),
    (None, Status.EMPTY, False, True), (5, Status.OK, True, True)])
def test_a_suite_output_is_kept_where_a_person_will_open_it(tmp_path, grade, status, keep,
                                                             kept):
    (tmp_path / "k").mkdir()
    for name in ("libreoffice.pdf", "page-001.png"):
        (tmp_path / "k" / name).write_bytes(b"x")
    job = Job(document=None, suite="libreoffice", artifacts_dir=tmp_path,
              scratch_dir=tmp_path / "s", timeout_seconds=1, keep_outputs=keep)
    result = pipeline._without_unexamined_outputs(
        job, _result(grade, status, pdf="k/libreoffice.pdf", pages=("k/page-001.png",)))
    assert (tmp_path / "k" / "libreoffice.pdf").exists() is kept
    assert (result.artifacts.pdf is not None) is kept
    assert (tmp_path / "k" / "page-001.png").exists()  # page images are always kept
    assert result.artifacts.pages == ("k/page-001.png",)


def test_page_images_are_palettised_and_look_the_same(tmp_path):
    page = Image.new("RGB", (300, 200), "white")
    for x in range(0, 300, 3):  # anti-aliased greys and two colours, as text and rules
        page.putpixel((x, 50), (x % 256, x % 256, x % 256))
    page.paste((200, 30, 30), (10, 100, 150, 130))
    page.paste((20, 60, 200), (160, 100, 290, 130))
    save_page_image(page, tmp_path / "p.png")
    written = Image.open(tmp_path / "p.png")
    assert written.mode == "P"
    back = written.convert("RGB")
    assert back.getpixel((20, 110)) == (200, 30, 30)
    assert back.getpixel((200, 110)) == (20, 60, 200)
    assert back.getpixel((5, 5)) == (255, 255, 255)
    assert not list(tmp_path.glob("*.tmp"))


@needs_libreoffice
@needs_shared
def test_the_reference_is_read_once_for_every_suite_of_a_document(tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("04_resume_en.docx", "04_resume_en.reference.pdf"):
        shutil.copyfile(SHARED / "office2pdf-golden" / name, folder / name)
    document = discover([folder])[0]
    reads: list[Path] = []
    real_load = pipeline.load_rendering
    monkeypatch.setattr(pipeline, "load_rendering",
                        lambda pdf, *a, **k: reads.append(Path(pdf)) or real_load(pdf, *a, **k))
    truths = []
    real_truth = pipeline.read_truth
    monkeypatch.setattr(pipeline, "read_truth",
                        lambda path, fmt: truths.append(path) or real_truth(path, fmt))
    results = [run_job(Job(document, suite, tmp_path / "artifacts", tmp_path / "scratch", 120,
                           task=task))
               for suite, task in (("msoffice", Task.SHOW), ("libreoffice", Task.SHOW),
                                   ("libreoffice", Task.SAVE))]
    # a job whose artifacts folder is its own (as a Dask job's is) still gets the pages it names
    elsewhere = run_job(Job(document, "libreoffice", tmp_path / "elsewhere", tmp_path / "scratch",
                            120))
    pipeline.release_renderers()
    assert [r.status for r in results] == [Status.OK] * 3, [r.message for r in results]
    assert elsewhere.artifacts.reference_pages
    for name in elsewhere.artifacts.reference_pages:
        assert (tmp_path / "elsewhere" / name).is_file()
    # msoffice's rendering is the reference itself: read once; LibreOffice's PDF once a job
    assert [p.name for p in reads] == ["msoffice.pdf", "libreoffice.pdf", "libreoffice.pdf"]
    source_reads = [p for p in truths if Path(p).name == "04_resume_en.docx"]
    assert len(source_reads) == 1  # one truth for two suites and two tasks
    shown = {r.suite: r for r in results if r.task is Task.SHOW}
    assert shown["libreoffice"].artifacts.reference_pages == shown["msoffice"].artifacts.pages
    for name in shown["libreoffice"].artifacts.reference_pages:
        assert (tmp_path / "artifacts" / name).is_file()
