"""Pages of two renderings aligned as sequences, so that a reflow which adds a page costs
that page and not every page after it.

Dynamic programming (Needleman-Wunsch) maximises the summed similarity of the pages it pairs,
keeping their order; a page left unpaired is missing (reference only) or extra (candidate
only). Page similarity is cheap on purpose, since it is computed for many pairs: the share of
words the two pages have in common (from the document-wide word matching) and the overlap
of their ink on small thumbnails, for pages without words.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from PIL import Image

from harness.compare.layout import WordMatching
from harness.compare.rendering import Rendering

THUMBNAIL_PX = (48, 64)  # about 4 mm a pixel on A4: enough to tell page layouts apart
# Pairs further than this from the diagonal (beyond the page-count difference) are not
# considered: reflow shifts pages gradually, and the band keeps long documents cheap.
BAND = 8
# Pages less alike than this are never paired: two unrelated pages are a missing page and an
# extra one, not a pair whose white margins would flatter SSIM.
MIN_PAIR = 0.1


def thumbnail(image: np.ndarray) -> np.ndarray:
    small = Image.fromarray(image).resize(THUMBNAIL_PX, Image.Resampling.BOX)
    return 255.0 - np.asarray(small, dtype=np.float32)  # ink


def ink_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """1 - the normalised L1 distance of two ink maps (Bray-Curtis); two blank pages are 1."""
    total = float(a.sum() + b.sum())
    if total < 1.0:
        return 1.0
    return 1.0 - float(np.abs(a - b).sum()) / total


def similarity_matrix(reference: Rendering, candidate: Rendering,
                      words: WordMatching) -> np.ndarray:
    n, m = len(reference.pages), len(candidate.pages)
    shared = Counter((w.reference_page, w.candidate_page) for w in words.matches)
    ref_thumbs = [thumbnail(p.image) for p in reference.pages]
    cand_thumbs = [thumbnail(p.image) for p in candidate.pages]
    band = abs(n - m) + BAND
    sim = np.zeros((n, m))
    for i in range(n):
        for j in range(max(0, i - band), min(m, i + band + 1)):
            visual = ink_overlap(ref_thumbs[i], cand_thumbs[j])
            words_here = words.reference_per_page[i] + words.candidate_per_page[j]
            if words_here:
                textual = 2.0 * shared[(i, j)] / words_here
                sim[i, j] = 0.5 * textual + 0.5 * visual
            else:
                sim[i, j] = visual
    return sim


def align(similarity: np.ndarray) -> list[tuple[int | None, int | None]]:
    """Pairs of 0-based page indexes in order; (i, None) missing, (None, j) extra."""
    n, m = similarity.shape
    score = np.zeros((n + 1, m + 1))
    move = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0 pair, 1 skip reference, 2 skip cand
    move[1:, 0] = 1
    move[0, 1:] = 2
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            s = similarity[i - 1, j - 1]
            paired = score[i - 1, j - 1] + s if s >= MIN_PAIR else -1.0
            skip_ref, skip_cand = score[i - 1, j], score[i, j - 1]
            best = max(paired, skip_ref, skip_cand)
            score[i, j] = best
            move[i, j] = 0 if paired == best else (1 if skip_ref == best else 2)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        step = move[i, j]
        if step == 0:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif step == 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    pairs.reverse()
    return pairs
