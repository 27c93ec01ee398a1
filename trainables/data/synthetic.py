"""A SYNTHETIC two-domain relation-extraction corpus: resweep's embedded default dataset.

Nothing here is real text. Sentences are rendered from hand-written templates with invented
names, so the corpus is free to ship, needs no download, and is identical for a given seed on
every machine. It exists so that ``make demo`` and the tests have a dataset with the properties
that matter to a hyperparameter / data-regime search, not to model any real distribution:

* two domains from one generation process per seed: *in-domain* biographies
  (:data:`IN_DOMAIN`: people born, working, studying, marrying ...) and an *out-of-domain*
  commerce/science part (:data:`OUT_OF_DOMAIN`: companies, products, discoveries ...). The
  domains share some labels (``founded``, ``works_for``) so that transfer can be measured;
* a large negative class (:data:`NEGATIVE_LABEL`, about 40% in-domain, 30% OOD) whose
  sentences are *not* trivially separable: many are positive sentences in which the marked pair
  is (distractor, argument) instead of (head, tail), or the reversed pair of an asymmetric
  relation, the rest are neutral co-mentions written with the positives' vocabulary;
* Zipf-like positive class frequencies (class ``k`` gets weight ``1 / k**ZIPF_EXPONENT``), so
  rare classes have a few dozen training examples and the largest several hundred;
* several templates per relation with alternative wordings, both argument orders (head before
  and after tail; the head is always the relation's first argument), distractor entities, and
  optional framing clauses shared by all classes;
* about 3% label noise (a random wrong label) in train *and* test, so no model reaches 100%.

Spans follow :mod:`trainables.data.records` (``[start, end)`` token offsets). Tokens are what
:func:`trainables.data.inline.word_tokenize` would produce from the space-joined sentence.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from trainables.data.records import Record

from ..errors import ResweepError
from .synthetic_vocabulary import (
    _AWARD_FIELD,
    _BIO_NEUTRAL,
    _BIO_RELATIONS,
    _COMPANY_END,
    _FACILITY_END,
    _FIELDS,
    _FIRST,
    _FRAME_PROBABILITY,
    _FRAMES,
    _MONTHS,
    _OOD_NEUTRAL,
    _OOD_RELATIONS,
    _PLACE_END,
    _PLACE_PREFIX,
    _ROOT_START,
    _SOCIETY_END,
    _SUBSTANCE_END,
    _SURNAME_END,
    IN_DOMAIN,
    NEGATIVE_LABEL,
    OUT_OF_DOMAIN,
    RelationSpec,
)

__all__ = [
    "DOMAINS",
    "IN_DOMAIN",
    "LABEL_NOISE",
    "NEGATIVE_LABEL",
    "NEGATIVE_SHARE",
    "OUT_OF_DOMAIN",
    "SIZES",
    "TEMPLATES",
    "ZIPF_EXPONENT",
    "RelationSpec",
    "generate",
]


SIZES: dict[str, dict[str, int]] = {
    IN_DOMAIN: {"train": 3000, "test": 1000},
    OUT_OF_DOMAIN: {"train": 3000, "test": 800},
}
NEGATIVE_SHARE: dict[str, float] = {IN_DOMAIN: 0.40, OUT_OF_DOMAIN: 0.30}
# 1.6 puts the rarest of ten classes at ~1/40 of the largest before noise; noise adds a few
# examples to every class, and the ratio must stay above 20:1.
ZIPF_EXPONENT = 1.6
LABEL_NOISE = 0.03
_ID_PREFIX = {IN_DOMAIN: "syn", OUT_OF_DOMAIN: "ood"}

# How negatives are made (fractions of a domain's negatives); see _render_negative.
_DISTRACTOR_NEGATIVES = 0.5
_REVERSED_NEGATIVES = 0.1


DOMAINS: dict[str, tuple[RelationSpec, ...]] = {IN_DOMAIN: _BIO_RELATIONS, OUT_OF_DOMAIN: _OOD_RELATIONS}
_NEUTRAL: dict[str, tuple[RelationSpec, ...]] = {IN_DOMAIN: _BIO_NEUTRAL, OUT_OF_DOMAIN: _OOD_NEUTRAL}
# Asymmetric relations whose reversed pair is a valid negative (the reverse is not a label).
_REVERSIBLE = frozenset({"child_of", "acquired", "subsidiary_of"})


def _template_table() -> dict[str, dict[str, tuple[str, ...]]]:
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    for dataset, specs in DOMAINS.items():
        labels = {spec.name: spec.templates for spec in specs}
        labels[NEGATIVE_LABEL] = tuple(t for spec in _NEUTRAL[dataset] for t in spec.templates)
        table[dataset] = labels
    return table


# dataset -> label -> templates (negatives: the neutral templates; distractor / reversed
# negatives reuse the positive templates).
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = _template_table()


# ---------------------------------------------------------------------------------------------
# Template parsing: a template becomes a tree of literal text, slots and choices, parsed once.


@dataclass(frozen=True)
class _Slot:
    role: str  # "h", "t" or "d"
    type: str | None  # entity type of a distractor


@dataclass(frozen=True)
class _Choice:
    options: tuple[tuple[_Node, ...], ...]


_Node = str | _Slot | _Choice


def _parse_sequence(text: str, pos: int, inside_choice: bool) -> tuple[tuple[_Node, ...], int]:
    nodes: list[_Node] = []
    literal: list[str] = []
    while pos < len(text):
        char = text[pos]
        if inside_choice and char in "|]":
            break
        if char in "{[":
            if literal:
                nodes.append("".join(literal))
                literal = []
            if char == "{":
                close = text.index("}", pos)
                role, _, type_ = text[pos + 1 : close].partition(":")
                nodes.append(_Slot(role, type_ or None))
                pos = close + 1
            else:
                choice, pos = _parse_choice(text, pos + 1)
                nodes.append(choice)
            continue
        literal.append(char)
        pos += 1
    if literal:
        nodes.append("".join(literal))
    return tuple(nodes), pos


def _parse_choice(text: str, pos: int) -> tuple[_Choice, int]:
    options: list[tuple[_Node, ...]] = []
    while True:
        option, pos = _parse_sequence(text, pos, inside_choice=True)
        options.append(option)
        if text[pos] == "]":
            return _Choice(tuple(options)), pos + 1
        pos += 1  # skip "|"


@functools.cache
def _parse(template: str) -> tuple[_Node, ...]:
    nodes, _ = _parse_sequence(template, 0, inside_choice=False)
    return nodes


# ---------------------------------------------------------------------------------------------
# Invented entity names. Pools are drawn once per domain and seed, shared by train and test.


def _root(rng: random.Random) -> str:
    return rng.choice(_ROOT_START) + rng.choice("aeio") + rng.choice("nrlv")


def _surname(rng: random.Random) -> str:
    return rng.choice(_ROOT_START) + rng.choice(_SURNAME_END)


def _city(rng: random.Random) -> str:
    name = _root(rng).capitalize() + rng.choice(_PLACE_END)
    return f"{rng.choice(_PLACE_PREFIX)} {name}" if rng.random() < 0.25 else name


def _entity(entity_type: str, rng: random.Random, dataset: str) -> str:
    """One invented name of ``entity_type`` (space-separated tokens) for ``dataset``."""
    if entity_type == "PERSON":
        return f"{rng.choice(_FIRST)} {_surname(rng)}"
    if entity_type == "CITY":
        return _city(rng)
    if entity_type == "ORG":
        # biographies: employers and also clubs, parties, societies (for member_of); commerce: firms
        if dataset == IN_DOMAIN and rng.random() < 0.35:
            return f"{_root(rng).capitalize()} {rng.choice(_SOCIETY_END)}"
        return f"{_surname(rng)} {rng.choice(_COMPANY_END)}"
    if entity_type == "UNIVERSITY":
        kind = rng.randrange(3)
        if kind == 0:
            return f"University of {_city(rng)}"
        if kind == 1:
            return f"{_surname(rng)} College"
        return f"{_root(rng).capitalize()} Institute of Technology"
    if entity_type == "AWARD":
        if rng.random() < 0.5:
            return f"{_surname(rng)} Prize for {rng.choice(_AWARD_FIELD)}"
        return f"{_root(rng).capitalize()} Medal"
    if entity_type == "DATE":
        year = str(rng.randrange(1890, 2021))
        return f"{rng.choice(_MONTHS)} {year}" if rng.random() < 0.4 else year
    if entity_type == "PRODUCT":
        model = rng.choice(("X", "Pro", "One", "Mini", str(rng.randrange(2, 900))))
        return f"{_root(rng).capitalize()} {model}"
    if entity_type == "SUBSTANCE":
        name = _root(rng).lower() + rng.choice(_SUBSTANCE_END)
        return f"{name[:-1]}ic acid" if rng.random() < 0.2 else name
    if entity_type == "JOURNAL":
        field = rng.choice(_FIELDS)
        return rng.choice(
            (
                f"Journal of {field}",
                f"Annals of {field}",
                f"{field} Letters",
                f"{_root(rng).capitalize()} Review",
            )
        )
    if entity_type == "FACILITY":
        return f"{_root(rng).capitalize()} {rng.choice(_FACILITY_END)}"
    raise ResweepError(f"unknown entity type {entity_type!r}")


_POOL_SIZE = {"PERSON": 900, "DATE": 200}
_DEFAULT_POOL_SIZE = 300


def _entity_pools(dataset: str, rng: random.Random) -> dict[str, tuple[tuple[str, ...], ...]]:
    types: set[str] = set()
    for spec in DOMAINS[dataset] + _NEUTRAL[dataset]:
        types.update((spec.head_type, spec.tail_type))
    for spec in DOMAINS[dataset] + _NEUTRAL[dataset]:
        for template in spec.templates:
            types.update(_slot_types(_parse(template)))
    for frame in _FRAMES[dataset][0] + _FRAMES[dataset][1]:
        types.update(_slot_types(_parse(frame)))
    pools: dict[str, tuple[tuple[str, ...], ...]] = {}
    for entity_type in sorted(types):  # sorted: set order must not reach the RNG
        size = _POOL_SIZE.get(entity_type, _DEFAULT_POOL_SIZE)
        names = dict.fromkeys(_entity(entity_type, rng, dataset) for _ in range(size))  # dedupe, keep order
        pools[entity_type] = tuple(tuple(name.split()) for name in names)
    return pools


def _slot_types(nodes: Sequence[_Node]) -> set[str]:
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, _Slot) and node.type:
            found.add(node.type)
        elif isinstance(node, _Choice):
            for option in node.options:
                found |= _slot_types(option)
    return found


# ---------------------------------------------------------------------------------------------
# Rendering one sentence.


@dataclass
class _Sentence:
    tokens: list[str]
    spans: dict[str, tuple[int, int]]  # "h" / "t" -> span
    distractors: list[tuple[str, tuple[int, int]]]  # (type, span)


class _Renderer:
    def __init__(self, dataset: str, rng: random.Random) -> None:
        self.dataset = dataset
        self.rng = rng
        self.pools = _entity_pools(dataset, rng)

    def entity(self, entity_type: str, avoid: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
        while True:
            name = self.rng.choice(self.pools[entity_type])
            if name not in avoid:
                return name

    def render(self, template: str, head_type: str, tail_type: str) -> _Sentence:
        head = self.entity(head_type, ())
        tail = self.entity(tail_type, (head,))
        sentence = _Sentence([], {}, [])
        used = [head, tail]
        prefixes, suffixes = _FRAMES[self.dataset]
        frame_roll = self.rng.random()
        if frame_roll < _FRAME_PROBABILITY / 2:
            self._emit(_parse(self.rng.choice(prefixes)), sentence, {}, used)
        start = len(sentence.tokens)
        self._emit(_parse(template), sentence, {"h": head, "t": tail}, used)
        argument_starts = {span_start for span_start, _ in sentence.spans.values()}
        if start and sentence.tokens[start][0].isupper() and start not in argument_starts:
            # a literal sentence opener after a prefix clause is no longer sentence-initial
            sentence.tokens[start] = sentence.tokens[start].lower()
        if _FRAME_PROBABILITY / 2 <= frame_roll < _FRAME_PROBABILITY and sentence.tokens[-1] == ".":
            del sentence.tokens[-1]
            self._emit(_parse(self.rng.choice(suffixes)), sentence, {}, used)
            sentence.tokens.append(".")
        return sentence

    def _emit(
        self,
        nodes: Sequence[_Node],
        sentence: _Sentence,
        arguments: dict[str, tuple[str, ...]],
        used: list[tuple[str, ...]],
    ) -> None:
        for node in nodes:
            if isinstance(node, str):
                sentence.tokens.extend(node.split())
            elif isinstance(node, _Choice):
                self._emit(self.rng.choice(node.options), sentence, arguments, used)
            else:
                if node.role == "d":
                    assert node.type is not None
                    name = self.entity(node.type, used)
                    used.append(name)
                else:
                    name = arguments[node.role]
                span = (len(sentence.tokens), len(sentence.tokens) + len(name))
                sentence.tokens.extend(name)
                if node.role == "d":
                    sentence.distractors.append((node.type or "", span))
                else:
                    sentence.spans[node.role] = span


# ---------------------------------------------------------------------------------------------
# Records.


@dataclass(frozen=True)
class _Draft:
    """A record before ids and noise: tokens, (head span, type), (tail span, type), label."""

    tokens: tuple[str, ...]
    head: tuple[int, int]
    tail: tuple[int, int]
    head_type: str
    tail_type: str
    label: str


def _zipf_counts(total: int, n_classes: int) -> list[int]:
    """Split ``total`` into ``n_classes`` counts proportional to ``1 / rank**ZIPF_EXPONENT``."""
    weights = [1.0 / rank**ZIPF_EXPONENT for rank in range(1, n_classes + 1)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    # Largest remainders get the leftover: exact and deterministic, no sampling noise in class sizes.
    order = sorted(range(n_classes), key=lambda i: -(weights[i] * scale - int(weights[i] * scale)))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _render_positive(renderer: _Renderer, spec: RelationSpec, label: str | None = None) -> _Draft:
    """A sentence of one of ``spec``'s templates, its marked pair (head, tail) labelled ``label``
    (default: the relation's name)."""
    sentence = renderer.render(renderer.rng.choice(spec.templates), spec.head_type, spec.tail_type)
    return _Draft(
        tuple(sentence.tokens),
        sentence.spans["h"],
        sentence.spans["t"],
        spec.head_type,
        spec.tail_type,
        spec.name if label is None else label,
    )


def _render_negative(renderer: _Renderer, dataset: str, weights: Sequence[float]) -> _Draft:
    """A negative; most are hard: they reuse positive templates with a different marked pair."""
    rng = renderer.rng
    specs = DOMAINS[dataset]
    roll = rng.random()
    if roll < _DISTRACTOR_NEGATIVES:
        # A positive sentence, but one argument of the marked pair is a distractor of its type.
        while True:
            spec = rng.choices(specs, weights)[0]
            sentence = renderer.render(rng.choice(spec.templates), spec.head_type, spec.tail_type)
            options = [
                (role, span)
                for dtype, span in sentence.distractors
                for role, rtype in (("h", spec.head_type), ("t", spec.tail_type))
                if dtype == rtype
            ]
            if options:
                role, span = rng.choice(options)
                head = span if role == "h" else sentence.spans["h"]
                tail = span if role == "t" else sentence.spans["t"]
                return _Draft(
                    tuple(sentence.tokens), head, tail, spec.head_type, spec.tail_type, NEGATIVE_LABEL
                )
    reversible = [spec for spec in specs if spec.name in _REVERSIBLE]
    if roll < _DISTRACTOR_NEGATIVES + _REVERSED_NEGATIVES and reversible:
        spec = rng.choice(reversible)
        sentence = renderer.render(rng.choice(spec.templates), spec.head_type, spec.tail_type)
        return _Draft(
            tuple(sentence.tokens),
            sentence.spans["t"],
            sentence.spans["h"],
            spec.tail_type,
            spec.head_type,
            NEGATIVE_LABEL,
        )
    return _render_positive(renderer, rng.choice(_NEUTRAL[dataset]), NEGATIVE_LABEL)


def _split_drafts(renderer: _Renderer, dataset: str, size: int) -> list[_Draft]:
    specs = DOMAINS[dataset]
    n_negative = round(size * NEGATIVE_SHARE[dataset])
    counts = _zipf_counts(size - n_negative, len(specs))
    weights = [float(c) for c in counts]
    drafts = [
        _render_positive(renderer, spec)
        for spec, count in zip(specs, counts, strict=True)
        for _ in range(count)
    ]
    drafts += [_render_negative(renderer, dataset, weights) for _ in range(n_negative)]
    renderer.rng.shuffle(drafts)
    return drafts


def _add_label_noise(drafts: list[_Draft], labels: Sequence[str], rng: random.Random) -> list[str]:
    """Final labels: a random ``LABEL_NOISE`` share of drafts get a random *wrong* label."""
    final = [draft.label for draft in drafts]
    for i in rng.sample(range(len(drafts)), round(len(drafts) * LABEL_NOISE)):
        final[i] = rng.choice([label for label in labels if label != final[i]])
    return final


@functools.lru_cache(maxsize=8)
def _generate_domain(dataset: str, seed: int) -> tuple[tuple[str, tuple[Record, ...]], ...]:
    # Each domain has its own stream derived from (seed, domain), so generating one domain never
    # depends on whether the other was generated first. String seeds are hashed with SHA-512 by
    # `random`, independent of PYTHONHASHSEED.
    rng = random.Random(f"resweep.synthetic/{dataset}/{seed}")
    renderer = _Renderer(dataset, rng)
    labels = [spec.name for spec in DOMAINS[dataset]] + [NEGATIVE_LABEL]
    splits = []
    for split, size in SIZES[dataset].items():
        drafts = _split_drafts(renderer, dataset, size)
        final_labels = _add_label_noise(drafts, labels, rng)
        records = tuple(
            Record.of_spans(
                f"{_ID_PREFIX[dataset]}-{split}-{i:06d}",
                d.tokens,
                d.head,
                d.tail,
                label,
                dataset=dataset,
                split=split,
                head_type=d.head_type,
                tail_type=d.tail_type,
            )
            for i, (d, label) in enumerate(zip(drafts, final_labels, strict=True))
        )
        splits.append((split, records))
    return tuple(splits)


def generate(dataset: str = IN_DOMAIN, seed: int = 0) -> dict[str, list[Record]]:
    """Split name (``'train'``, ``'test'``) -> records of ``dataset`` generated from ``seed``.

    ``dataset`` is :data:`IN_DOMAIN` or :data:`OUT_OF_DOMAIN`. The same seed always gives the same
    records; results are cached, and each call returns fresh lists.
    """
    if dataset not in DOMAINS:
        raise ResweepError(f"unknown synthetic dataset {dataset!r}; valid names: {', '.join(DOMAINS)}")
    return {split: list(records) for split, records in _generate_domain(dataset, int(seed))}
