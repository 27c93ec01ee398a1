"""Entity markers: render a record with marked head and tail, and encode it for a tokenizer.

Relation-extraction encoders see the sentence with both arguments wrapped in markers, then pool
over positions of the encoded sequence: R-BERT averages the entity tokens, "entity-start" takes the
hidden state of each start marker. :func:`encode` therefore returns, besides the token ids, the
position of each start marker and the ``[start, end)`` subword span of each mention.

Styles (registered in :data:`MARKER_STYLES` under these exact names):

* ``semeval``: ``<e1> head </e1>`` / ``<e2> tail </e2>``; the markers are new special tokens.
* ``rbert`` (Wu & He 2019): ``$ head $`` / ``# tail #``; plain characters, nothing added.
* ``entity-tokens``: ``[E1] head [/E1]`` / ``[E2] tail [/E2]``; new special tokens.
* ``typed`` (Zhou & Chen 2022, typed entity marker (punct)): ``@ * person * head @`` /
  ``# ^ city ^ tail #`` with the record's entity types, falling back to ``@ head @`` /
  ``# tail #`` for an entity without a type; plain characters, nothing added.

"head" is always the record's head (e1) and "tail" its tail (e2), whichever comes first.

Usage::

    added = prepare_tokenizer(tokenizer, "semeval")   # once, before encoding
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)  # if added > 0
    pair = encode(record, tokenizer, "semeval", max_length=128)

The tokenizer must be a *fast* (Rust-backed) one: subword positions come from ``word_ids()``.
Tokenizers with byte-level BPE (RoBERTa, GPT-2) must be loaded with ``add_prefix_space=True`` to
accept pre-split words. transformers is only needed by the caller: this module does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainables.registry import Registry

from ..errors import ResweepError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from trainables.data.records import Record

__all__ = [
    "MARKER_STYLES",
    "EncodedPair",
    "MarkedWords",
    "MarkerStyle",
    "encode",
    "marked_words",
    "prepare_tokenizer",
]


@dataclass(frozen=True)
class MarkerStyle:
    """How a style wraps the two entities.

    ``new_tokens`` are the markers that must be added to the tokenizer as special tokens (exactly
    as rendered: they are matched case-sensitively, before any lower-casing). When
    ``head_type_marker``/``tail_type_marker`` is set, an entity with a type is rendered
    ``open type_marker type words type_marker mention close``.
    """

    name: str
    head_open: str
    head_close: str
    tail_open: str
    tail_close: str
    new_tokens: tuple[str, ...] = ()
    head_type_marker: str | None = None
    tail_type_marker: str | None = None

    def __post_init__(self) -> None:
        markers = {self.head_open, self.head_close, self.tail_open, self.tail_close}
        if not set(self.new_tokens) <= markers:
            raise ResweepError(f"marker style {self.name!r}: new_tokens must be among its markers")


MARKER_STYLES: Registry[MarkerStyle] = Registry("marker style")


def _register(style: MarkerStyle) -> None:
    MARKER_STYLES.register(style.name, style)


_SEMEVAL = ("<e1>", "</e1>", "<e2>", "</e2>")
_ENTITY_TOKENS = ("[E1]", "[/E1]", "[E2]", "[/E2]")
_register(MarkerStyle("semeval", *_SEMEVAL, new_tokens=_SEMEVAL))
_register(MarkerStyle("rbert", "$", "$", "#", "#"))
_register(MarkerStyle("entity-tokens", *_ENTITY_TOKENS, new_tokens=_ENTITY_TOKENS))
_register(MarkerStyle("typed", "@", "@", "#", "#", head_type_marker="*", tail_type_marker="^"))


@dataclass(frozen=True)
class MarkedWords:
    """A record's words with markers inserted; all indices are into ``words``.

    ``*_marker`` is the start marker, ``*_end_marker`` the end marker, ``*_span`` the mention's
    ``[start, end)`` range. Between a start marker and its mention lie the type words, if any.
    """

    words: tuple[str, ...]
    head_marker: int
    head_end_marker: int
    tail_marker: int
    tail_end_marker: int
    head_span: tuple[int, int]
    tail_span: tuple[int, int]


@dataclass(frozen=True)
class EncodedPair:
    """An encoded record. Positions index ``input_ids`` (leading special tokens such as [CLS]
    included); spans are ``[start, end)`` over the mention's subword tokens, markers excluded."""

    input_ids: list[int]
    attention_mask: list[int]
    head_marker: int
    tail_marker: int
    head_span: tuple[int, int]
    tail_span: tuple[int, int]


def _type_words(entity_type: str | None) -> list[str]:
    """``"STATE_OR_PROVINCE"`` -> ``["state", "or", "province"]``; None or blank -> ``[]``."""
    if entity_type is None:
        return []
    return entity_type.replace("_", " ").lower().split()


def marked_words(record: Record, style: str) -> MarkedWords:
    """Insert ``style``'s markers around the record's head and tail (word level)."""
    marker_style = MARKER_STYLES.get(style)
    length = len(record.tokens)
    for name, (start, end) in (("head", record.head), ("tail", record.tail)):
        if not 0 <= start < end <= length:
            raise ResweepError(
                f"record {record.id!r}: {name} span [{start}, {end}) is not inside its {length} tokens"
            )
    if record.head_start < record.tail_end and record.tail_start < record.head_end:
        raise ResweepError(f"record {record.id!r}: head and tail spans overlap")

    def opening(marker: str, type_marker: str | None, entity_type: str | None) -> list[str]:
        type_words = _type_words(entity_type) if type_marker is not None else []
        if not type_words:  # no type (or an untyped style): just the marker
            return [marker]
        return [marker, type_marker, *type_words, type_marker]  # type: ignore[list-item]

    ms = marker_style
    entities = {
        "head": (record.head, opening(ms.head_open, ms.head_type_marker, record.head_type), ms.head_close),
        "tail": (record.tail, opening(ms.tail_open, ms.tail_type_marker, record.tail_type), ms.tail_close),
    }
    words: list[str] = []
    starts: dict[str, int] = {}
    spans: dict[str, tuple[int, int]] = {}
    ends: dict[str, int] = {}
    cursor = 0
    # Spans are disjoint, so writing them in sentence order gives one well-formed sequence.
    for name, ((start, end), open_words, close) in sorted(entities.items(), key=lambda item: item[1][0]):
        words.extend(record.tokens[cursor:start])
        starts[name] = len(words)
        words.extend(open_words)
        mention_start = len(words)
        words.extend(record.tokens[start:end])
        spans[name] = (mention_start, len(words))
        ends[name] = len(words)
        words.append(close)
        cursor = end
    words.extend(record.tokens[cursor:])
    return MarkedWords(
        words=tuple(words),
        head_marker=starts["head"],
        head_end_marker=ends["head"],
        tail_marker=starts["tail"],
        tail_end_marker=ends["tail"],
        head_span=spans["head"],
        tail_span=spans["tail"],
    )


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, style: str) -> int:
    """Add ``style``'s marker tokens to ``tokenizer`` as special tokens; return how many were new.

    Idempotent: tokens already registered as special are skipped. When the result is positive the
    caller must grow the model's embeddings to match::

        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)

    (``mean_resizing=False`` keeps the new rows at the model's ordinary initialisation instead of
    spending time on a covariance estimate; the markers are learnt during fine-tuning.)
    """
    new_tokens = MARKER_STYLES.get(style).new_tokens
    special = set(tokenizer.all_special_tokens)
    missing = [token for token in new_tokens if token not in special]
    if not missing:
        return 0
    before = len(tokenizer)
    # transformers 5 names the list "extra_special_tokens" ("additional_special_tokens" is only
    # translated for backward compatibility). replace_extra_special_tokens=False is essential: the
    # default True would unflag every other extra special token (e.g. another style's markers) as
    # special. Strings become AddedToken(normalized=False, special=True): matched on the raw text,
    # so an uncased tokenizer neither lower-cases nor splits them.
    tokenizer.add_special_tokens({"extra_special_tokens": missing}, replace_extra_special_tokens=False)
    return len(tokenizer) - before


@dataclass(frozen=True)
class _Entity:
    """One marked entity in body coordinates (positions among the non-special subwords).

    ``[start, mention_start)`` is the start marker plus type words, ``[mention_start,
    mention_end)`` the mention, ``[mention_end, end)`` the end marker.
    """

    start: int
    mention_start: int
    mention_end: int
    end: int

    @property
    def protected(self) -> int:
        """Tokens truncation may never drop: the markers, type words and the mention's first token."""
        return (self.mention_start - self.start) + 1 + (self.end - self.mention_end)


def _keep_middle(first: int, stop: int, keep: int) -> list[int]:
    """Keep ``keep`` of the positions ``[first, stop)``, split between both ends (closest to the
    entities), dropping the centre; the extra one of an odd count goes to the left."""
    left = (keep + 1) // 2
    return [*range(first, first + left), *range(stop - (keep - left), stop)]


def _select(length: int, head: _Entity, tail: _Entity, budget: int) -> list[int]:
    """Body positions to keep (sorted) so that at most ``budget`` remain, all markers included."""
    if length <= budget:
        return list(range(length))
    first, second = sorted((head, tail), key=lambda entity: entity.start)
    region = second.end - first.start
    if region <= budget:
        # Everything from the first marker to the last fits: add context symmetrically, the side
        # that runs out of tokens leaving its share to the other.
        extra = budget - region
        available_left, available_right = first.start, length - second.end
        left = min(available_left, extra // 2)
        right = min(available_right, extra - left)
        left = min(available_left, extra - right)
        return list(range(first.start - left, second.end + right))

    # No outside context fits. Shorten the middle context first (it is the least useful), then
    # the longer mention from its end, one token at a time.
    excess = region - budget
    middle = second.start - first.end
    middle_kept = middle - min(excess, middle)
    excess -= middle - middle_kept
    lengths = [first.mention_end - first.mention_start, second.mention_end - second.mention_start]
    while excess > 0:
        longer = 0 if lengths[0] > lengths[1] else 1  # on a tie, the later mention
        if lengths[longer] <= 1:  # the caller checked the minimum; this would be a bug
            raise AssertionError("truncation ran out of droppable tokens")
        lengths[longer] -= 1
        excess -= 1

    def entity_positions(entity: _Entity, mention_length: int) -> list[int]:
        front = range(entity.start, entity.mention_start + mention_length)  # marker, types, kept mention
        return [*front, *range(entity.mention_end, entity.end)]  # then the end marker

    return [
        *entity_positions(first, lengths[0]),
        *_keep_middle(first.end, second.start, middle_kept),
        *entity_positions(second, lengths[1]),
    ]


def _word_positions(word_ids: list[int | None], n_words: int) -> list[list[int]]:
    """For each word, the positions of its subword tokens (empty if it produced none)."""
    positions: list[list[int]] = [[] for _ in range(n_words)]
    for position, word in enumerate(word_ids):
        if word is not None:
            positions[word].append(position)
    return positions


def encode(
    record: Record, tokenizer: PreTrainedTokenizerBase, style: str, max_length: int = 128
) -> EncodedPair:
    """Mark, tokenize and (if longer than ``max_length``) truncate ``record`` around its entities.

    Truncation keeps every marker: it keeps a window around the entities, growing symmetrically
    into the context; when even the entities and what lies between them do not fit, it drops the
    centre of the context between them, then the end of the longer mention (never its first
    token). Raises ValueError when ``max_length`` cannot hold the special tokens, the markers (with
    type words) and one token of each mention, or when the style's special tokens are missing from
    the tokenizer (call :func:`prepare_tokenizer` first).
    """
    marker_style = MARKER_STYLES.get(style)
    if not getattr(tokenizer, "is_fast", False):
        raise ResweepError(f"encode needs a fast tokenizer (word_ids()); got {type(tokenizer).__name__}")
    marked = marked_words(record, style)
    words = list(marked.words)
    mentions = (marked.head_span, marked.tail_span)

    def tokenize() -> tuple[list[int], list[int | None]]:
        # verbose=False: a sentence longer than the model's limit is expected, we truncate below.
        encoding = tokenizer(words, is_split_into_words=True, add_special_tokens=True, verbose=False)
        return list(encoding["input_ids"]), encoding.word_ids()

    input_ids, word_ids = tokenize()  # (L,)
    positions = _word_positions(word_ids, len(words))
    # A mention made only of characters the normalizer drops would leave nothing to pool over:
    # stand in the unknown token for its first word.
    vanished = [start for start, end in mentions if not any(positions[w] for w in range(start, end))]
    if vanished:
        if tokenizer.unk_token is None:
            raise ResweepError(f"record {record.id!r}: a mention produces no tokens")
        for start in vanished:
            words[start] = str(tokenizer.unk_token)
        input_ids, word_ids = tokenize()
        positions = _word_positions(word_ids, len(words))

    marker_words = (marked.head_marker, marked.head_end_marker, marked.tail_marker, marked.tail_end_marker)
    for index in marker_words:
        token = words[index]
        if token in marker_style.new_tokens:
            token_id = tokenizer.convert_tokens_to_ids(token)
            if [input_ids[p] for p in positions[index]] != [token_id] or token_id == tokenizer.unk_token_id:
                raise ResweepError(
                    f"marker {token!r} of style {style!r} is not a single token of this "
                    f"tokenizer; call prepare_tokenizer(tokenizer, {style!r}) first"
                )
        elif not positions[index]:
            raise ResweepError(f"marker {token!r} of style {style!r} produces no token with this tokenizer")

    # Split into leading specials ([CLS]), body (the words' subwords) and trailing specials ([SEP]).
    body = [p for p, word in enumerate(word_ids) if word is not None]
    prefix, body_start, body_end = input_ids[: body[0]], body[0], body[-1] + 1
    suffix = input_ids[body_end:]
    if any(word is None for word in word_ids[body_start:body_end]):
        raise ResweepError("unexpected special tokens inside a single sequence")

    def entity(marker: int, span: tuple[int, int], end_marker: int) -> _Entity:
        def first(word: int) -> int:
            return next(p for w in range(word, len(words)) for p in positions[w]) - body_start

        def last(word: int) -> int:
            return next(p for w in range(word, -1, -1) for p in reversed(positions[w])) - body_start

        return _Entity(first(marker), first(span[0]), last(span[1] - 1) + 1, last(end_marker) + 1)

    head = entity(marked.head_marker, marked.head_span, marked.head_end_marker)
    tail = entity(marked.tail_marker, marked.tail_span, marked.tail_end_marker)
    minimum = len(prefix) + len(suffix) + head.protected + tail.protected
    if max_length < minimum:
        types = " and type words" if marker_style.head_type_marker or marker_style.tail_type_marker else ""
        raise ResweepError(
            f"max_length={max_length} is too small for style {style!r}: it needs at least "
            f"{minimum} (special tokens, markers{types} and one token of each mention)"
        )

    kept = _select(body_end - body_start, head, tail, max_length - len(prefix) - len(suffix))
    new_position = {old: len(prefix) + new for new, old in enumerate(kept)}

    def span(entity: _Entity) -> tuple[int, int]:
        # The mention is kept from its first token on, contiguously, so its start and its last
        # surviving token bound it.
        mention = range(entity.mention_start, entity.mention_end)
        kept_mention = [new_position[p] for p in mention if p in new_position]
        return kept_mention[0], kept_mention[-1] + 1

    ids = [*prefix, *(input_ids[body_start + p] for p in kept), *suffix]  # (L',) with L' <= max_length
    return EncodedPair(
        input_ids=ids,
        attention_mask=[1] * len(ids),
        head_marker=new_position[head.start],
        tail_marker=new_position[tail.start],
        head_span=span(head),
        tail_span=span(tail),
    )
