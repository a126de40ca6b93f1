"""Which parts of an OOXML package are in use, and whether a part holds content.

A part's presence proves little: Word writes an empty ``comments.xml``, PowerPoint keeps
placeholder-only masters, a chart can sit in a package that no drawing names. A part counts
only when it is reachable from the package root through relationships; a relationship to
something drawn in the body (an image, a chart, a header...) counts only when its source part
names its id. Reads are bounded by the caller's part size limit and never raise for what the
package holds: unreadable XML adds an ``error:*`` tag and yields the elements read before it.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

import olefile
from lxml import etree

RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
DGM = "http://schemas.openxmlformats.org/drawingml/2006/diagram"

# Relationship types (last path segment) whose target the source part names by id: the
# target is in use only where that id appears. Every other type is implicit (a slide's
# layout, a document's comments) and counts by the relationship alone.
EXPLICIT = frozenset({
    "image", "chart", "diagramData", "diagramLayout", "diagramQuickStyle", "diagramColors",
    "diagramDrawing", "video", "audio", "media", "oleObject", "package", "header", "footer",
    "drawing", "worksheet", "chartsheet", "dialogsheet", "slide",
    "externalLink", "table", "pivotCacheDefinition", "hdphoto", "font"})
# External targets that bring another file's content into the document (a template path
# or a hyperlink does not).
EXTERNAL_CONTENT = frozenset({"image", "oleObject", "package", "video", "audio", "media",
                              "externalLinkPath", "frame", "subDocument"})


def elements(data: bytes, tags: set[str]) -> Iterator[etree._Element]:
    """The elements of one part in document order, as complete as the part allows; a
    truncated or malformed part adds ``error:malformed-xml`` and yields what came before."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False)
    try:
        parser.feed(data)
        parser.close()
    except etree.XMLSyntaxError:
        tags.add("error:malformed-xml")
    for _, element in parser.read_events():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            yield element


def local(element: etree._Element) -> tuple[str, str]:
    namespace, name = element.tag[1:].split("}", 1)
    return namespace, name


_ATTRIBUTE_VALUE = re.compile(rb"""=\s*["']([^"'<>]{1,255})["']""")


@dataclass
class Relationship:
    source: str  # part name, "" for the package itself
    id: str
    kind: str  # last segment of the relationship type
    target: str  # resolved part name, or the raw target when external
    external: bool


def _rels_source(name: str) -> str | None:
    folder, _, file = name.rpartition("_rels/")
    if not file.endswith(".rels") or (folder and not folder.endswith("/")):
        return None
    return folder + file[: -len(".rels")]


def _resolve(source: str, target: str) -> str:
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target)).lstrip("/")


@dataclass
class Package:
    """A package's parts and relationships; `reachable` is what the document uses."""

    read: Callable[[zipfile.ZipInfo], bytes | None]  # bounded, adds error tags
    tags: set[str]
    infos: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # by lower-case name
    relationships: list[Relationship] = field(default_factory=list)
    reachable: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, package: zipfile.ZipFile, read: Callable[[zipfile.ZipInfo], bytes | None],
             tags: set[str]) -> Package:
        self = cls(read, tags, {i.filename.lower(): i for i in package.infolist()})
        for info in self.infos.values():
            source = _rels_source(info.filename)
            data = self.read(info) if source is not None else None
            if data:
                self.relationships += self._parse_rels(source, data)
        self.reachable = self._walk()
        return self

    def _parse_rels(self, source: str, data: bytes) -> list[Relationship]:
        found = []
        for element in elements(data, self.tags):
            if local(element) != (RELS_NS, "Relationship"):
                continue
            target, rid = element.get("Target") or "", element.get("Id") or ""
            external = (element.get("TargetMode") or "").lower() == "external"
            kind = (element.get("Type") or "").rstrip("/").rsplit("/", 1)[-1]
            found.append(Relationship(source, rid, kind, target if external
                                      else _resolve(source, target), external))
        return found

    def name(self, part: str) -> str | None:
        info = self.infos.get(part.lower())
        return info.filename if info else None

    def _names_id(self, source: str, rid: str, cache: dict[str, frozenset[bytes]]) -> bool:
        """Whether the source part has an attribute whose value is this relationship id;
        each source is read once, however many relationships it has."""
        if source not in cache:
            info = self.infos.get(source.lower())
            data = (self.read(info) or b"") if info else b""
            cache[source] = frozenset(_ATTRIBUTE_VALUE.findall(data))
        return rid.encode() in cache[source]

    def _walk(self) -> set[str]:
        by_source: dict[str, list[Relationship]] = {}
        for rel in self.relationships:
            by_source.setdefault(rel.source.lower(), []).append(rel)
        main = [r.target for r in by_source.get("", []) if r.kind == "officeDocument"]
        if not main or not any(by_source.get(m.lower()) for m in main):
            # Hand-made or damaged: nothing says which parts are used, so all count.
            return {i.filename for i in self.infos.values()}
        seen: set[str] = set()
        cache: dict[str, frozenset[bytes]] = {}
        queue = deque([""])
        while queue:
            source = queue.popleft()
            for rel in by_source.get(source.lower(), []):
                target = self.name(rel.target) if not rel.external else None
                if target is None or target in seen:
                    continue
                if rel.kind in EXPLICIT and source and not self._names_id(source, rel.id,
                                                                         cache):
                    continue
                seen.add(target)
                queue.append(target)
        return seen

    def used_external(self) -> bool:
        """Whether a used part pulls content from another file (a linked workbook, image,
        object); hyperlinks and template paths do not count."""
        cache: dict[str, frozenset[bytes]] = {}
        return any(rel.external and rel.kind in EXTERNAL_CONTENT and rel.source in self.reachable
                   and (rel.kind == "externalLinkPath" or self._names_id(rel.source, rel.id,
                                                                         cache))
                   for rel in self.relationships)

    def holds(self, name: str, proves: Callable[[bytes, set[str]], bool] | None) -> bool:
        """Whether a part has bytes and, where `proves` is given, the content it checks."""
        info = self.infos.get(name.lower())
        if info is None or info.file_size == 0:
            return False
        if proves is None:
            return True
        data = self.read(info)
        return bool(data) and proves(data, self.tags)

    def part(self, name: str) -> bytes | None:
        info = self.infos.get(name.lower())
        return self.read(info) if info else None


# Content checks: does a used part hold what its tag claims?
def any_comment(data: bytes, tags: set[str]) -> bool:
    """At least one comment: w:comment (Word), comment (Excel), p:cm (PowerPoint), or a
    threaded comment."""
    return any(local(e)[1] in ("comment", "cm", "threadedComment")
               for e in elements(data, tags))


def header_content(data: bytes, tags: set[str]) -> bool:
    """Something printed: non-blank text, a drawing, a picture, an object or a field."""
    for element in elements(data, tags):
        namespace, name = local(element)
        if namespace == W and name in ("t", "instrText") and (element.text or "").strip():
            return True
        if namespace == W and name in ("drawing", "pict", "object", "fldSimple", "sym"):
            return True
    return False


def notes_text(data: bytes, tags: set[str]) -> bool:
    """Speaker notes with words: non-blank text outside fields (a slide-number field is
    not a note)."""
    return any(local(e) == (A, "t") and (e.text or "").strip()
               and not any(True for _ in e.iterancestors(f"{{{A}}}fld"))
               for e in elements(data, tags))


def smartart_nodes(data: bytes, tags: set[str]) -> bool:
    """A diagram with at least one node (the document and presentation points are not)."""
    return any(local(e) == (DGM, "pt") and e.get("type", "node") in ("node", "asst")
               for e in elements(data, tags))


_DRAWN = {(P, "pic"), (P, "graphicFrame"), (P, "grpSp"), (P, "cxnSp"), (P, "bgPr")}


def master_content(data: bytes, tags: set[str]) -> bool:
    """A master or layout drawing on its slides: a picture, chart, group, connector, a
    shape that is no placeholder, or a background of its own (not the plain theme one)."""
    for element in elements(data, tags):
        key = local(element)
        if key in _DRAWN:
            return True
        if key == (P, "sp") and element.find(f"{{{P}}}nvSpPr/{{{P}}}nvPr/{{{P}}}ph") is None:
            return True
        if key == (P, "bgRef") and (element.get("idx") or "0") not in ("0", "1001"):
            return True
    return False


def vba_project(data: bytes, tags: set[str]) -> bool:
    """A compiled VBA project is an OLE container; an empty or foreign part runs nothing."""
    return olefile.isOleFile(data)


def root_named(*names: str) -> Callable[[bytes, set[str]], bool]:
    """The part's root element has one of these local names (it is what its name says)."""
    def check(data: bytes, tags: set[str]) -> bool:
        for element in elements(data, tags):
            return local(element)[1] in names
        return False
    return check


def linked_book(data: bytes, tags: set[str]) -> bool:
    """An external-link part that names another workbook (or a DDE or OLE link)."""
    return any(local(e)[1] in ("externalBook", "ddeLink", "oleLink")
               for e in elements(data, tags))
