"""Text with inline entity markers -> tokens and ``[start, end)`` spans.

Two inline conventions are read:

* ``semeval``: ``<e1>head</e1> ... <e2>tail</e2>`` (SemEval-2010 Task 8, KBP37);
* ``scibert``: ``[[ head ]] ... << tail >>`` (the SciBERT releases of ChemProt and SciERC).

Text is split into words and punctuation with :func:`word_tokenize`; markers never become tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ResweepError

__all__ = ["INLINE_STYLES", "MarkerError", "ParsedText", "detect_style", "parse_marked_text", "word_tokenize"]

# Words (letters/digits, keeping inner hyphens, apostrophes, dots and commas of numbers) or one
# punctuation character.
_WORD = re.compile(r"\w+(?:[-'.,]\w+)*|[^\w\s]", re.UNICODE)

# style -> (head open, head close, tail open, tail close)
INLINE_STYLES: dict[str, tuple[str, str, str, str]] = {
    "semeval": ("<e1>", "</e1>", "<e2>", "</e2>"),
    "scibert": ("[[", "]]", "<<", ">>"),
}
# Styles whose markers are ordinary punctuation count them only next to whitespace: ChemProt
# text contains chemistry such as "STA2>>17-phenyl-trinor-PGE2".
_STANDALONE = {"scibert"}


class MarkerError(ResweepError):
    """A problem with the inline markers of one text (the caller adds file and line)."""


@dataclass(frozen=True)
class ParsedText:
    tokens: tuple[str, ...]
    head: tuple[int, int]
    tail: tuple[int, int]


def word_tokenize(text: str) -> list[str]:
    return _WORD.findall(text)


def detect_style(text: str) -> str | None:
    """The first inline style any of whose markers occur in ``text``, or None."""
    for style, markers in INLINE_STYLES.items():
        if any(marker in text for marker in markers):
            return style
    return None


def parse_marked_text(text: str, style: str | None = None) -> ParsedText:
    """Parse one marked sentence; raise :class:`MarkerError` naming the faulty marker."""
    style = style or detect_style(text)
    if style is None:
        names = "; ".join(" ".join(markers) for markers in INLINE_STYLES.values())
        raise MarkerError(f"no entity markers found (expected one of: {names})")
    markers = INLINE_STYLES[style]
    head_open, head_close, tail_open, tail_close = markers
    alternatives = [re.escape(m) for m in markers]
    if style in _STANDALONE:
        # An opening marker is followed by a space, a closing one follows one ("([[ EXP ]])").
        alternatives = [rf"{m}(?=\s)" if i % 2 == 0 else rf"(?<=\s){m}" for i, m in enumerate(alternatives)]
    pattern = re.compile("|".join(alternatives))

    tokens: list[str] = []
    opened: dict[str, int] = {}  # open marker -> token index where its mention starts
    spans: dict[str, tuple[int, int]] = {}
    closes = {head_close: head_open, tail_close: tail_open}
    position = 0
    for match in pattern.finditer(text):
        tokens.extend(word_tokenize(text[position : match.start()]))
        position = match.end()
        marker = match.group()
        if marker in (head_open, tail_open):
            if marker in opened or marker in spans:
                raise MarkerError(f"marker {marker} occurs more than once")
            if opened:
                other = next(iter(opened))
                raise MarkerError(f"marker {marker} opens inside the unclosed {other}: entities overlap")
            opened[marker] = len(tokens)
        else:
            open_marker = closes[marker]
            if open_marker in spans and style in _STANDALONE:
                # Punctuation markers also occur as text once their entity is closed ("a > b >> c").
                tokens.extend(word_tokenize(marker))
                continue
            if open_marker not in opened:
                if open_marker in spans:
                    raise MarkerError(f"marker {marker} occurs more than once")
                raise MarkerError(f"marker {marker} comes before its {open_marker}")
            start = opened.pop(open_marker)
            if start == len(tokens):
                raise MarkerError(f"entity {open_marker}{marker} is empty")
            spans[open_marker] = (start, len(tokens))
    tokens.extend(word_tokenize(text[position:]))

    for marker in opened:
        raise MarkerError(f"marker {marker} is never closed")
    for marker in (head_open, tail_open):
        if marker not in spans:
            raise MarkerError(f"missing entity marker {marker}")
    return ParsedText(tuple(tokens), spans[head_open], spans[tail_open])
