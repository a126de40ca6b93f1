"""What the report says of a document besides its results: its feature tags and its title.

Detection reads the file's parts, so it runs once per content hash: the store keeps what it
found (`Store.known_properties`), and a re-run with nothing changed reads no document.
Hand-added tags of a `corpus.toml` entry are added to what detection found.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import olefile
from lxml import etree

from harness.corpus.discover import Document
from harness.corpus.features import LEGACY, detect
from harness.errors import SourceError
from harness.truth.container import SAFE_XML, check_zip

# Raised whenever detection or title reading changes what it returns for the same bytes.
PROPERTIES_VERSION = 2  # 2: part-based tags from content (a used part that holds one)
MAX_CORE_BYTES = 1 << 20
MAX_TITLE_CHARACTERS = 300


@dataclass(frozen=True)
class DocumentProperties:
    features: tuple[str, ...]  # detected feature tags, error:* tags included
    title: str | None  # the title the file gives itself (docProps/core.xml, OLE summary)


def read_title(path: Path, fmt: str) -> str | None:
    """The document's own title, or None; never raises for what the file holds."""
    try:
        if fmt in LEGACY:
            if not olefile.isOleFile(str(path)):
                return None
            with olefile.OleFileIO(str(path)) as ole:
                raw = ole.get_metadata().title
            title = raw.decode("cp1252", "replace") if isinstance(raw, bytes) else raw
        else:
            check_zip(path)
            with zipfile.ZipFile(path) as package:
                info = package.getinfo("docProps/core.xml")
                if info.file_size > MAX_CORE_BYTES:
                    return None
                root = etree.fromstring(package.read(info), parser=SAFE_XML)
            title = root.findtext("{http://purl.org/dc/elements/1.1/}title")
    except (KeyError, OSError, SourceError, zipfile.BadZipFile, etree.XMLSyntaxError,
            ValueError, EOFError, RuntimeError):
        return None
    title = " ".join((title or "").split())
    return title[:MAX_TITLE_CHARACTERS] or None


def read_properties(doc: Document) -> DocumentProperties:
    if doc.refused:  # never read: it links outside the corpus, or is no Office document
        return DocumentProperties((), None)
    return DocumentProperties(tuple(sorted(detect(doc.path, doc.format).tags)),
                              read_title(doc.path, doc.format))


def with_hand_tags(properties: DocumentProperties, tags: tuple[str, ...]) -> DocumentProperties:
    return DocumentProperties(tuple(sorted(set(properties.features) | set(tags))),
                              properties.title)
