"""Entity markers: rendering, tokenizer preparation, encoding positions and truncation.

Offline: the tokenizer is a tiny WordPiece vocabulary committed next to this file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trainables.data.markers import (
    MARKER_STYLES,
    EncodedPair,
    MarkerStyle,
    encode,
    marked_words,
    prepare_tokenizer,
)
from trainables.data.records import Record
from trainables.registry import UnknownNameError

VOCAB = Path(__file__).parent / "fixtures" / "vocab.txt"
STYLES = MARKER_STYLES.names()
# 20 distinct in-vocabulary words, so a test can tell which context survived truncation
FILLER = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "very",
    "long",
    "sentence",
    "with",
    "many",
    "words",
    "here",
    "there",
    "some",
    "more",
    "text",
    "filler",
]


def make_tokenizer():
    from transformers import BertTokenizerFast

    # transformers 5 ignores vocab_file= in the constructor (only from_pretrained maps it to the
    # vocabulary), so pass the vocabulary itself.
    vocab = {word: index for index, word in enumerate(VOCAB.read_text().splitlines())}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    assert len(tokenizer) == len(vocab)
    return tokenizer


@pytest.fixture
def tokenizer():
    return make_tokenizer()


def record(
    tokens: str | list[str],
    head: tuple[int, int],
    tail: tuple[int, int],
    head_type: str | None = None,
    tail_type: str | None = None,
) -> Record:
    words = tuple(tokens.split() if isinstance(tokens, str) else tokens)
    return Record(
        id="r",
        tokens=words,
        head_start=head[0],
        head_end=head[1],
        tail_start=tail[0],
        tail_end=tail[1],
        label="rel",
        dataset="test",
        split="train",
        head_type=head_type,
        tail_type=tail_type,
    )


# Head (a typed PERSON) before tail (ORGANIZATION); "Smithson" is two wordpieces.
FOUNDED = record("John Smithson founded Acme Corp in Paris .", (0, 2), (3, 5), "PERSON", "ORGANIZATION")
# Tail before head, with an underscore type.
CAPITAL = record("The capital of France is Paris .", (5, 6), (3, 4), "CITY", "STATE_OR_PROVINCE")

EXPECTED_WORDS = {
    "semeval": (
        "<e1> John Smithson </e1> founded <e2> Acme Corp </e2> in Paris .",
        "The capital of <e2> France </e2> is <e1> Paris </e1> .",
    ),
    "rbert": (
        "$ John Smithson $ founded # Acme Corp # in Paris .",
        "The capital of # France # is $ Paris $ .",
    ),
    "entity-tokens": (
        "[E1] John Smithson [/E1] founded [E2] Acme Corp [/E2] in Paris .",
        "The capital of [E2] France [/E2] is [E1] Paris [/E1] .",
    ),
    "typed": (
        "@ * person * John Smithson @ founded # ^ organization ^ Acme Corp # in Paris .",
        "The capital of # ^ state or province ^ France # is @ * city * Paris @ .",
    ),
}


def marker_ids(tokenizer, style: str) -> tuple[int, int, int, int]:
    s = MARKER_STYLES.get(style)
    return tuple(tokenizer.convert_tokens_to_ids([s.head_open, s.head_close, s.tail_open, s.tail_close]))


def check_pair(pair: EncodedPair, rec: Record, tokenizer, style: str, max_length: int) -> None:
    """Invariants of every encoding, truncated or not."""
    ids = pair.input_ids
    head_open, head_close, tail_open, tail_close = marker_ids(tokenizer, style)
    assert len(ids) <= max_length
    assert pair.attention_mask == [1] * len(ids)
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert ids[pair.head_marker] == head_open
    assert ids[pair.tail_marker] == tail_open
    for marker, (start, end), close, text in (
        (pair.head_marker, pair.head_span, head_close, rec.head_text),
        (pair.tail_marker, pair.tail_span, tail_close, rec.tail_text),
    ):
        assert marker < start < end  # after its start marker (and type words), never empty
        assert ids[end] == close  # the mention runs up to its end marker
        mention_ids = tokenizer(text.split(), is_split_into_words=True, add_special_tokens=False)["input_ids"]
        kept = ids[start:end]
        assert kept == mention_ids[: len(kept)]  # a prefix of the mention, its first token always
    # every marker survives exactly once, in sentence order
    markers = {head_open, head_close, tail_open, tail_close}
    present = [i for i in ids if i in markers]
    head_first = rec.head_start < rec.tail_start
    first = (head_open, head_close) if head_first else (tail_open, tail_close)
    second = (tail_open, tail_close) if head_first else (head_open, head_close)
    assert present == [*first, *second]


# --- rendering -----------------------------------------------------------------------------------


def test_registry_holds_the_four_styles():
    assert STYLES == ["semeval", "rbert", "entity-tokens", "typed"]
    assert all(isinstance(MARKER_STYLES.get(name), MarkerStyle) for name in STYLES)


@pytest.mark.parametrize("style", sorted(EXPECTED_WORDS))
def test_rendered_words(style):
    for rec, expected in zip((FOUNDED, CAPITAL), EXPECTED_WORDS[style], strict=True):
        assert " ".join(marked_words(rec, style).words) == expected


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("rec", [FOUNDED, CAPITAL], ids=["head-first", "tail-first"])
def test_marked_indices(style, rec):
    s = MARKER_STYLES.get(style)
    marked = marked_words(rec, style)
    words = marked.words
    assert words[marked.head_marker] == s.head_open and words[marked.head_end_marker] == s.head_close
    assert words[marked.tail_marker] == s.tail_open and words[marked.tail_end_marker] == s.tail_close
    assert words[slice(*marked.head_span)] == rec.tokens[rec.head_start : rec.head_end]
    assert words[slice(*marked.tail_span)] == rec.tokens[rec.tail_start : rec.tail_end]
    assert marked.head_span[1] == marked.head_end_marker and marked.tail_span[1] == marked.tail_end_marker
    # outside the marked entities the sentence is unchanged
    outside = [
        w
        for i, w in enumerate(words)
        if not (
            marked.head_marker <= i <= marked.head_end_marker
            or marked.tail_marker <= i <= marked.tail_end_marker
        )
    ]
    entity_tokens = set(range(rec.head_start, rec.head_end)) | set(range(rec.tail_start, rec.tail_end))
    assert outside == [w for i, w in enumerate(rec.tokens) if i not in entity_tokens]


def test_typed_falls_back_without_types():
    untyped = record(FOUNDED.tokens, FOUNDED.head, FOUNDED.tail)
    assert " ".join(marked_words(untyped, "typed").words) == (
        "@ John Smithson @ founded # Acme Corp # in Paris ."
    )
    half = record(FOUNDED.tokens, FOUNDED.head, FOUNDED.tail, head_type=None, tail_type="ORGANIZATION")
    assert " ".join(marked_words(half, "typed").words) == (
        "@ John Smithson @ founded # ^ organization ^ Acme Corp # in Paris ."
    )


UNTYPED_STYLES = [name for name in STYLES if MARKER_STYLES.get(name).head_type_marker is None]


@pytest.mark.parametrize("style", UNTYPED_STYLES)
def test_untyped_styles_ignore_types(style):
    untyped = record(FOUNDED.tokens, FOUNDED.head, FOUNDED.tail)
    assert marked_words(FOUNDED, style) == marked_words(untyped, style)


def test_bad_spans_are_rejected():
    with pytest.raises(ValueError, match="overlap"):
        marked_words(record("John Smith founded Acme", (0, 2), (1, 3)), "semeval")
    with pytest.raises(ValueError, match="not inside"):
        marked_words(record("John founded Acme", (0, 1), (2, 4)), "semeval")


# --- tokenizer preparation -----------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_prepare_tokenizer_is_idempotent(tokenizer, style):
    new_tokens = MARKER_STYLES.get(style).new_tokens
    before = len(tokenizer)
    assert prepare_tokenizer(tokenizer, style) == len(new_tokens)
    assert len(tokenizer) == before + len(new_tokens)
    assert prepare_tokenizer(tokenizer, style) == 0
    assert len(tokenizer) == before + len(new_tokens)
    for token in new_tokens:
        # one token each, case preserved although the tokenizer lower-cases text
        ids = tokenizer([token], is_split_into_words=True, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] >= before
        assert tokenizer.convert_ids_to_tokens(ids[0]) == token
        assert token in tokenizer.all_special_tokens


def test_upper_case_markers_are_case_sensitive(tokenizer):
    prepare_tokenizer(tokenizer, "entity-tokens")
    # the lower-cased spelling is not the marker: it is split like any text
    assert tokenizer.tokenize("[e1]") == ["[", "e1", "]"]
    assert tokenizer.tokenize("John [E1] Paris") == ["john", "[E1]", "paris"]


def test_preparing_a_second_style_keeps_the_first(tokenizer):
    # transformers 5's add_special_tokens replaces the extra special tokens unless told otherwise
    assert prepare_tokenizer(tokenizer, "semeval") == 4
    assert prepare_tokenizer(tokenizer, "entity-tokens") == 4
    for token in (*MARKER_STYLES.get("semeval").new_tokens, *MARKER_STYLES.get("entity-tokens").new_tokens):
        assert token in tokenizer.all_special_tokens
    assert prepare_tokenizer(tokenizer, "semeval") == 0


@pytest.mark.parametrize("style", [name for name in STYLES if MARKER_STYLES.get(name).new_tokens])
def test_encode_without_prepare_fails_clearly(tokenizer, style):
    with pytest.raises(ValueError, match=r"prepare_tokenizer\(tokenizer"):
        encode(FOUNDED, tokenizer, style)


# --- encoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("rec", [FOUNDED, CAPITAL], ids=["head-first", "tail-first"])
def test_encode_positions(tokenizer, style, rec):
    prepare_tokenizer(tokenizer, style)
    pair = encode(rec, tokenizer, style)
    check_pair(pair, rec, tokenizer, style, 128)
    expected = tokenizer(list(marked_words(rec, style).words), is_split_into_words=True)["input_ids"]
    assert pair.input_ids == expected  # short: nothing truncated
    for (start, end), text in ((pair.head_span, rec.head_text), (pair.tail_span, rec.tail_text)):
        assert tokenizer.decode(pair.input_ids[start:end]) == text.lower()


def test_typed_encoding_points_at_the_marker_not_the_type(tokenizer):
    pair = encode(FOUNDED, tokenizer, "typed")
    tokens = tokenizer.convert_ids_to_tokens(pair.input_ids)
    assert tokens[pair.head_marker : pair.head_span[0]] == ["@", "*", "person", "*"]
    assert tokens[pair.tail_marker : pair.tail_span[0]] == ["#", "^", "organization", "^"]
    assert tokens[slice(*pair.head_span)] == ["john", "smith", "##son"]


def test_encode_is_deterministic(tokenizer):
    rec = record([*FILLER, "John", *FILLER, "Paris", *FILLER], (20, 21), (41, 42))
    assert encode(rec, tokenizer, "rbert", max_length=16) == encode(rec, tokenizer, "rbert", max_length=16)


def test_mention_that_vanishes_becomes_unknown(tokenizer):
    rec = record(["John", "founded", "\u200b"], (0, 1), (2, 3))  # a zero-width space normalises away
    pair = encode(rec, tokenizer, "rbert")
    assert pair.input_ids[slice(*pair.tail_span)] == [tokenizer.unk_token_id]


# --- truncation ----------------------------------------------------------------------------------


def long_record(layout: str, head_first: bool) -> Record:
    """Two one-word entities placed in 40+ filler words: at the start, at the end, or far apart."""
    a, b = ("John", "Paris")
    words = {
        "start": [a, "founded", b, *FILLER, *FILLER],
        "end": [*FILLER, *FILLER, a, "founded", b],
        "apart": [a, *FILLER, *FILLER, b],
        "middle": [*FILLER, a, "founded", b, *FILLER],
    }[layout]
    first, second = (words.index(a), words.index(a) + 1), (words.index(b), words.index(b) + 1)
    return record(words, first, second) if head_first else record(words, second, first)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("layout", ["start", "end", "apart", "middle"])
@pytest.mark.parametrize("head_first", [True, False], ids=["head-first", "tail-first"])
@pytest.mark.parametrize("max_length", [16, 24])
def test_truncation_keeps_markers(tokenizer, style, layout, head_first, max_length):
    prepare_tokenizer(tokenizer, style)
    rec = long_record(layout, head_first)
    pair = encode(rec, tokenizer, style, max_length=max_length)
    check_pair(pair, rec, tokenizer, style, max_length)
    assert len(pair.input_ids) == max_length  # truncation fills the budget


@pytest.mark.parametrize("style", STYLES)
def test_long_typed_mentions_are_trimmed_from_the_end(tokenizer, style):
    prepare_tokenizer(tokenizer, style)
    words = ["John", "Smithson", "Mary", "Jones", *FILLER, "Acme", "Corp", "Paris", "France"]
    rec = record(words, (len(words) - 4, len(words)), (0, 4), "ORGANIZATION", "PERSON")
    pair = encode(rec, tokenizer, style, max_length=16 if style == "typed" else 10)
    check_pair(pair, rec, tokenizer, style, 16)
    assert len(pair.input_ids) == (16 if style == "typed" else 10)


def tokens_of(tokenizer, pair: EncodedPair) -> str:
    return " ".join(tokenizer.convert_ids_to_tokens(pair.input_ids))


WINDOWS = {
    # A window around the pair grows to both sides alike.
    "grows-symmetrically": (
        ([*FILLER[:6], "John", "founded", "Paris", *FILLER[6:12]], (6, 7), (8, 9), 13),
        "[CLS] jumps over <e1> john </e1> founded <e2> paris </e2> lazy dog [SEP]",
        (3, (4, 5), 7, (8, 9)),
    ),
    # At the sentence's start, the context comes from the right.
    "start-takes-from-the-right": (
        (["John", "founded", "Paris", *FILLER[:10]], (0, 1), (2, 3), 12),
        "[CLS] <e1> john </e1> founded <e2> paris </e2> the quick brown [SEP]",
        None,
    ),
    # Between far-apart entities, the middle context is dropped from its centre (tail first here).
    "middle-dropped-from-its-centre": (
        (["Paris", *FILLER[:16], "John"], (17, 18), (0, 1), 14),
        "[CLS] <e2> paris </e2> the quick brown words here there <e1> john </e1> [SEP]",
        (10, (11, 12), 1, (2, 3)),
    ),
}


@pytest.mark.parametrize("case", list(WINDOWS))
def test_the_window_around_the_pair(tokenizer, case):
    (words, head, tail, max_length), expected, markers = WINDOWS[case]
    prepare_tokenizer(tokenizer, "semeval")
    pair = encode(record(words, head, tail), tokenizer, "semeval", max_length=max_length)
    assert tokens_of(tokenizer, pair) == expected
    if markers is not None:
        assert (pair.head_marker, pair.head_span, pair.tail_marker, pair.tail_span) == markers


def test_longer_mention_is_trimmed_after_the_middle(tokenizer):
    prepare_tokenizer(tokenizer, "semeval")
    rec = record("John Smithson Mary Jones founded Paris", (0, 4), (5, 6))
    pair = encode(rec, tokenizer, "semeval", max_length=10)
    assert tokens_of(tokenizer, pair) == "[CLS] <e1> john smith ##son </e1> <e2> paris </e2> [SEP]"
    assert tokenizer.decode(pair.input_ids[slice(*pair.head_span)]) == "john smithson"


@pytest.mark.parametrize("head_first", [True, False])
def test_equal_mentions_trim_the_later_one(tokenizer, head_first):
    rec = (
        record("John Smith founded Mary Jones", (0, 2), (3, 5))
        if head_first
        else record("John Smith founded Mary Jones", (3, 5), (0, 2))
    )
    pair = encode(rec, tokenizer, "rbert", max_length=9)
    expected = "[CLS] $ john smith $ # mary # [SEP]" if head_first else "[CLS] # john smith # $ mary $ [SEP]"
    assert tokens_of(tokenizer, pair) == expected


@pytest.mark.parametrize("style", STYLES)
def test_too_small_max_length_raises(tokenizer, style):
    prepare_tokenizer(tokenizer, style)
    rec = record(FOUNDED.tokens, FOUNDED.head, FOUNDED.tail)  # untyped: the minimum is 8 for every style
    with pytest.raises(ValueError, match="needs at least 8"):
        encode(rec, tokenizer, style, max_length=7)
    check_pair(encode(rec, tokenizer, style, max_length=8), rec, tokenizer, style, 8)


def test_typed_minimum_counts_the_type_words(tokenizer):
    with pytest.raises(ValueError, match=r"needs at least 16 .*type words"):
        encode(CAPITAL, tokenizer, "typed", max_length=15)  # "state or province" is 3 words
    check_pair(encode(CAPITAL, tokenizer, "typed", max_length=16), CAPITAL, tokenizer, "typed", 16)


# --- names and imports ---------------------------------------------------------------------------


def test_unknown_style_lists_valid_names(tokenizer):
    valid = "valid: semeval, rbert, entity-tokens, typed"
    with pytest.raises(UnknownNameError, match=valid):
        marked_words(FOUNDED, "bogus")
    with pytest.raises(UnknownNameError, match=valid):
        prepare_tokenizer(tokenizer, "bogus")
    with pytest.raises(UnknownNameError, match=valid):
        encode(FOUNDED, tokenizer, "bogus")


def test_import_does_not_load_transformers():
    code = (
        "import sys, trainables.data.markers; assert 'transformers' not in sys.modules; "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
