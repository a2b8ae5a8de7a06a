"""How good a text layer is: character accuracy and the CJK-space check.

Accuracy = 1 − Levenshtein(expected, found) / len(expected), over all characters
with white space removed and full-width punctuation folded to its ASCII form
(（ → (, ， → ,): the measurement method of the reference notes, so figures
compare with theirs. Used by `juanzong bench ocr` and the tests.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]"
CJK_SPACE = re.compile(rf"{_CJK}[ \t\u00a0]+{_CJK}")


def fold(text: str) -> str:
    """White space removed, full-width forms folded (NFKC), 〇 kept."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_accuracy(expected: str, found: str) -> float:
    """Share of the expected characters found, 0.0–1.0 (folded; see the module doc)."""
    e, f = fold(expected), fold(found)
    if not e:
        return 1.0 if not f else 0.0
    return max(0.0, 1.0 - levenshtein(e, f) / len(e))


def spaces_between_cjk(text: str) -> int:
    """How many times white space separates two CJK characters on one line."""
    return sum(len(CJK_SPACE.findall(line)) for line in text.splitlines())
