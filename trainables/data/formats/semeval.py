"""SemEval-2010 Task 8 (and KBP37) files.

Per example: ``id<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"``, a label line, an optional
``Comment:`` line, then blank line(s). CRLF or LF.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import Problem
from ..inline import MarkerError, parse_marked_text
from ..records import Record
from ._base import UNLABELED, BaseFormat, Located, labels_required, read_text

_SENTENCE = re.compile(r'^(\S+)\t\s*"(.*)"\s*$')


class SemEvalFormat(BaseFormat):
    name = "semeval"

    def parse(self, path: Path, *, dataset: str, split: str) -> Iterator[Located | Problem]:
        lines = read_text(path).split("\n")
        number = 0
        while number < len(lines):
            line = lines[number]
            number += 1
            if not line.strip():
                continue
            match = _SENTENCE.match(line)
            if match is None:
                yield Problem(
                    str(path), 'expected `id<TAB>"sentence"` at the start of an example', line=number
                )
                continue
            record_id, sentence = match.groups()
            sentence_line = number
            label = lines[number].strip() if number < len(lines) else ""
            if not label or _SENTENCE.match(lines[number]) or label.startswith("Comment:"):
                if labels_required():
                    yield Problem(
                        str(path), "missing the label line after the sentence", sentence_line, record_id
                    )
                    continue
                label = UNLABELED  # a sentence to predict
            else:
                number += 1
            if number < len(lines) and lines[number].startswith("Comment"):
                number += 1
            try:
                parsed = parse_marked_text(sentence, "semeval")
            except MarkerError as err:
                yield Problem(str(path), str(err), sentence_line, record_id)
                continue
            yield Located(
                Record.of_spans(
                    record_id, parsed.tokens, parsed.head, parsed.tail, label, dataset=dataset, split=split
                ),
                sentence_line,
            )

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        first = next((line for line in head.splitlines() if line.strip()), b"")
        return re.match(rb'^\S+\t\s*"', first) is not None
