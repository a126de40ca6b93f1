"""Corpus handling: finding documents in folders, and the built-in feature probes."""

from harness.corpus.discover import FAMILIES, OFFICE_FORMATS, Document, discover, document_key

__all__ = ["FAMILIES", "OFFICE_FORMATS", "Document", "discover", "document_key"]
