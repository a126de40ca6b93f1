"""Structural checks: each fact of the source looked for where it belongs. For `show`, in
the suite's PDF (text layer, page, image objects); for a save, in the saved file re-read with
the same readers. Every check carries the feature tag it exercises, so results can be cut by
feature."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass

from harness.compare.rendering import Rendering
from harness.compare.text import tokens
from harness.truth import Cell, Expectation, SourceTruth

SAMPLE = 5  # mismatches named per aggregated check
# What shows of these depends on the markup view (Word prints comments and struck-through
# deletions by default, "Print Markup"); a save must keep them, a page may show them.
VIEW_DEPENDENT = {"comments", "tracked-changes"}


@dataclass(frozen=True)
class Check:
    feature: str
    label: str
    score: float  # 1 passed; an aggregated check (cells of a workbook) the share that passed
    expected: str | int | None = None
    found: str | int | None = None

    @property
    def passed(self) -> bool:
        return self.score >= 1.0

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def passed_share(checks: list[Check]) -> float | None:
    return round(sum(c.score for c in checks) / len(checks), 4) if checks else None


def _covered(want: Counter[str], have: Counter[str]) -> bool:
    """All of it there, but one in twenty of a long text: a superscript glued to its word
    in one file ('subpopulations3') is apart in the other."""
    missing = sum(max(0, n - have[t]) for t, n in want.items())
    return bool(want) and missing <= sum(want.values()) // 20


def _present(text: str, have: Counter[str]) -> bool:
    return _covered(Counter(tokens(text)), have)


def characters(text: str) -> Counter[str]:
    return Counter("".join(tokens(text)))


def _found(e: Expectation, words: Counter[str], chars: Counter[str]) -> bool:
    if e.by_characters:
        return any(_covered(characters(t), chars) for t in e.texts)
    return any(_present(t, words) for t in e.texts)


def _checkable(e: Expectation) -> bool:
    """Text with no word in it ('- -') can be neither found nor missed."""
    return any(tokens(t) for t in e.texts)


def _printed(text: str, flow: str) -> bool:
    """The text's words appear one after another in the rendered word flow."""
    words = tokens(text)
    return len(words) >= 2 and f" {' '.join(words)} " in flow


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def show_checks(truth: SourceTruth, rendering: Rendering, rendered_text: str) -> list[Check]:
    """What a user opening the document must see, and must not."""
    everywhere = Counter(tokens(rendered_text))
    chars = characters(rendered_text)
    flow = f" {' '.join(tokens(rendered_text))} "
    per_page = [Counter(w.text for w in p.words) for p in rendering.pages]
    checks = []
    for e in truth.shown:
        if e.where == "file" or not _checkable(e):
            continue
        if e.page is not None:
            have = per_page[e.page - 1] if e.page <= len(per_page) else Counter()
            where = f"page {e.page}"
        else:
            have, where = everywhere, "the PDF"
        ok = _found(e, have, chars)
        checks.append(Check(e.feature, f"{e.label}: shown on {where}", float(ok),
                            _short(e.texts[-1]), "found" if ok else "not found"))
    shown_words = Counter(t for e in truth.shown for x in e.texts[:1] for t in tokens(x))
    for e in truth.hidden:
        if e.feature in VIEW_DEPENDENT:
            continue
        text = e.texts[0]
        if _present(text, shown_words) or len(tokens(text)) < 2:
            continue  # words that also belong on the page prove nothing either way
        leaked = _printed(text, flow)
        checks.append(Check(e.feature, f"{e.label}: kept off the page", float(not leaked),
                            _short(text), "printed" if leaked else "not printed"))
    images = int(truth.facts.get("raster_images", 0) or 0)
    if images:  # vector pictures (EMF, WMF) may be drawn as paths: only bitmaps are counted
        placed = sum(p.images for p in rendering.pages)
        checks.append(Check("images", "bitmap pictures placed", float(placed >= images),
                            images, placed))
    return checks


# Counts a save must keep, and the feature each exercises. A save may add pictures and
# charts (a background or a bullet becomes a picture) but must not lose any.
AT_LEAST = {"images", "raster_images", "charts"}
COUNTS = {"tables": "table", "images": "images", "footnotes": "footnotes",
          "endnotes": "endnotes", "sections": "sections", "comments": "comments",
          "slides": "slides", "headings": "headings",
          "list_items": "lists", "fields": "fields", "charts": "charts",
          "hidden_slides": "hidden-slides", "notes": "notes", "sheets": "multiple-sheets",
          "visible_sheets": "hidden-sheets", "merged_ranges": "merged-cells",
          "formulas": "formulas"}


def save_checks(source: SourceTruth, saved: SourceTruth) -> list[Check]:
    """What a recipient of the saved file still has."""
    checks = []
    by_cell = bool(source.cells and saved.cells)
    for key, feature in COUNTS.items():
        if by_cell and key in ("formulas", "merged_ranges", "sheets"):
            continue  # compared cell by cell and name by name below
        if key in source.facts and key in saved.facts and source.facts[key]:
            want, got = source.facts[key], saved.facts[key]
            kept = got >= want if key in AT_LEAST else want == got
            checks.append(Check(feature, f"{key.replace('_', ' ')} kept", float(kept), want,
                                got))
    everything = " ".join(saved.text_blocks + tuple(
        t for e in saved.shown + saved.hidden for t in e.texts[:1]))
    kept, kept_chars = Counter(tokens(everything)), characters(everything)
    for e in source.shown + source.hidden:
        if e.feature == "formulas" or e.where == "page" or not _checkable(e):
            continue  # formula values are compared cell by cell below
        ok = _found(e, kept, kept_chars)
        checks.append(Check(e.feature, f"{e.label}: kept", float(ok), _short(e.texts[-1]),
                            "found" if ok else "not found"))
    if by_cell:
        checks += cell_checks(source, saved)
    return checks


def same_value(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if hasattr(a, "isoformat") and hasattr(b, "isoformat"):
        return str(a)[:19] == str(b)[:19]
    return str(a).strip() == str(b).strip()


def normalise_formula(formula: str) -> str:
    """Spellings that mean the same formula: prefixes of newer functions, absolute
    references, blanks, quoted sheet names, TRUE() for TRUE."""
    text = re.sub(r"_xlfn\.|_xlws\.|\$|\s", "", formula.lstrip("=")).upper()
    text = re.sub(r"\b(TRUE|FALSE)\(\)", r"\1", text)
    return re.sub(r"'([^'!]+)'!", r"\1!", text)


def normalise_number_format(number_format: str) -> str:
    """'"$"#,##0.00' and '\\$#,##0.00' are one format: quoting and escapes removed."""
    return re.sub(r'\\(.)', r"\1", number_format).replace('"', "").casefold()


VOLATILE = re.compile(r"\b(NOW|TODAY|RAND|RANDBETWEEN|RANDARRAY|OFFSET|INDIRECT|CELL|INFO)\(",
                      re.I)


def cell_checks(source: SourceTruth, saved: SourceTruth) -> list[Check]:
    """Every stored cell of the source against the saved workbook: its value, its formula,
    its number format; plus sheet names and merged ranges."""
    checks = []
    if source.sheet_names and saved.sheet_names:
        checks.append(Check("multiple-sheets", "sheet names and order kept",
                            float(source.sheet_names == saved.sheet_names),
                            ", ".join(source.sheet_names), ", ".join(saved.sheet_names)))
    if source.merged_ranges:
        want, got = set(source.merged_ranges), set(saved.merged_ranges)
        checks.append(Check("merged-cells", "merged ranges kept",
                            len(want & got) / len(want), len(want), len(want & got)))
    for feature, name, pick, same in (
            ("cached-values", "values", lambda c: c.value, same_value),
            ("formulas", "formulas", lambda c: c.formula and normalise_formula(c.formula),
             lambda a, b: a == b),
            ("custom-number-formats", "number formats",
             lambda c: normalise_number_format(c.number_format)
             if c.number_format != "General" else None,
             lambda a, b: a == b)):
        checks.append(_cells_check(source.cells, saved.cells, feature, f"{name} kept",
                                   pick, same))
    return [c for c in checks if c is not None]


def recalculated_checks(source: SourceTruth, saved: SourceTruth) -> list[Check]:
    """Every formula's value after the suite recalculated, against the value the source
    cached: where they differ, the suite computes otherwise (or the cache was stale)."""
    formulas = {k: c for k, c in source.cells.items()
                if c.formula and not VOLATILE.search(c.formula)}  # NOW() changes, rightly
    check = _cells_check(formulas, saved.cells, "formulas", "values after recalculation",
                         lambda c: c.value, same_value)
    return [check] if check else []


def cache_written_by_excel(source: SourceTruth) -> bool:
    """Only Excel's own cache is a Microsoft-computed fact to grade a recalculation by.
    Libraries stamp "Microsoft Excel" too (openpyxl, with its own version, 3.1); Excel
    writes its version as NN.NNNN."""
    return (str(source.facts.get("application", "")).startswith("Microsoft")
            and re.fullmatch(r"\d{2}\.\d{4}", str(source.facts.get("app_version", ""))) is not None)


def _cells_check(source: dict[str, Cell], saved: dict[str, Cell], feature: str, label: str,
                 pick, same) -> Check | None:
    relevant = {k: pick(c) for k, c in source.items() if pick(c) is not None}
    if not relevant:
        return None
    wrong = [k for k, v in relevant.items()
             if k not in saved or pick(saved[k]) is None or not same(v, pick(saved[k]))]
    sample = "; ".join(f"{k}: {_short(str(relevant[k]), 30)} -> "
                       f"{_short(str(pick(saved[k])) if k in saved else 'absent', 30)}"
                       for k in wrong[:SAMPLE])
    return Check(feature, f"{label} ({len(relevant) - len(wrong)}/{len(relevant)} cells)",
                 round(1 - len(wrong) / len(relevant), 4), len(relevant), sample or "all equal")
