"""The `fidelity` command. Exit codes: 0 done, 1 a result regressed since the previous run
of the same documents (`run`, `history`) or, with `--fail-below`, a graded result is below it
(`run`), 2 usage error (an unknown run id included), 3 nothing to do, 4 result store error,
5 corpus refused a change or is invalid, 6 an input of `compare` cannot be read or rendered,
70 internal error, 130 interrupted (Ctrl-C or SIGTERM). A suite failing on a document is a
result, not an exit code. The sweep commands live in cli_runs.py."""

from __future__ import annotations

import os
import signal
import sys
import traceback

from harness.cli import commands, fleet, maintenance, references, runs  # noqa: F401  (they register on `app`)
from harness.cli.app import app
from harness.errors import FidelityError


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a sweep like Ctrl-C: workers stopped, run kept


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except FidelityError as exc:
        print(f"fidelity: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("fidelity: interrupted; results stored so far are kept", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug: one line for the user, the trace on request
        if os.environ.get("FIDELITY_DEBUG"):
            traceback.print_exc()
        print(f"fidelity: internal error: {type(exc).__name__}: {exc} "
              "(set FIDELITY_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(70)

