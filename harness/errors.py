"""One small exception hierarchy; each class carries the exit code the CLI ends with.

A suite failing on a document is never an exception: it is a result (see renderers.base.Status).
"""


class FidelityError(Exception):
    """Base of every error the harness reports to its user in one line."""

    exit_code = 70


class UsageError(FidelityError):
    """The user asked for something that cannot be done as asked (bad option, missing path)."""

    exit_code = 2


class NothingToDo(FidelityError):
    """The request was well formed but selected no document or no available suite."""

    exit_code = 3


class StoreError(FidelityError):
    """The result store cannot be opened, read or written."""

    exit_code = 4


class UnknownRun(UsageError, StoreError):
    """A run id the store does not hold: the user's mistake (exit 2), though the store
    raises it."""

    exit_code = 2


class CorpusError(FidelityError):
    """A corpus refused a change (duplicate, no licence, unreadable file) or its metadata is
    invalid; nothing was written."""

    exit_code = 5


class SourceError(FidelityError):
    """A source document cannot be read; caught per document and turned into a result."""

    exit_code = 70


class CompareError(FidelityError):
    """A document given to `fidelity compare` could not be read, or its suite did not render
    it; the message says which and why."""

    exit_code = 6


class SourceTooLarge(SourceError):
    """A document too large for the harness to read within its memory (not a broken one)."""
