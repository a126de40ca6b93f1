"""Compare the latest run of two result stores, result by result: which (corpus, document,
suite, task) changed status or grade. For checking that a change which should not move any
grade (a refactoring, a speed-up) did not: sweep the same corpus before and after into two
stores, then

    .venv/bin/python scripts/compare_stores.py before/fidelity.sqlite after/fidelity.sqlite

Exit 0 when every result is the same, 1 when some differ (listed), 2 on a usage error."""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter


def latest(path: str) -> dict[tuple[str, str, str, str], tuple[str, int | None]]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    row = db.execute("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    if row is None:
        raise SystemExit(f"{path}: no run")
    return {(c, d, s, t): (st, g) for c, d, s, t, st, g in db.execute(
        "SELECT corpus, document, suite, task, status, grade FROM results WHERE run_id=?",
        (row[0],))}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    before, after = latest(argv[0]), latest(argv[1])
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    only = sorted(before.keys() ^ after.keys())
    print(f"{len(before)} and {len(after)} results; {len(before.keys() & after.keys())} in "
          f"both, {len(changed)} changed, {len(only)} in one store only")
    for key in changed:
        print(f"  {'/'.join(key[:2])} {key[2]} [{key[3]}]: {before[key]} -> {after[key]}")
    for key in only:
        print(f"  only in {'the first' if key in before else 'the second'}: "
              f"{'/'.join(key[:2])} {key[2]} [{key[3]}]")
    kinds = Counter((k[2], k[3], before[k][0], after[k][0]) for k in changed)
    for (suite, task, was, now), n in sorted(kinds.items()):
        print(f"{n} {suite} [{task}]: {was} -> {now}")
    return 1 if changed or only else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
