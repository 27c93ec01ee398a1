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

NEGATIVE_LABEL = "no_relation"
IN_DOMAIN = "synthetic"
OUT_OF_DOMAIN = "synthetic_ood"

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


@dataclass(frozen=True)
class RelationSpec:
    """A label with its argument types and templates.

    Template syntax: ``{h}`` / ``{t}`` are the head / tail entity, ``{d:TYPE}`` a fresh distractor
    entity of ``TYPE``, ``[a|b|]`` picks one alternative (may be empty, may nest). Literal text is
    space-separated tokens.
    """

    name: str
    head_type: str
    tail_type: str
    templates: tuple[str, ...]


def _rel(name: str, head_type: str, tail_type: str, *templates: str) -> RelationSpec:
    return RelationSpec(name, head_type, tail_type, templates)


# ---------------------------------------------------------------------------------------------
# In-domain: biographies. Listed in Zipf rank order (first = most frequent).
# Distractor slots are written so that the (distractor, argument) pair is genuinely unrelated:
# those pairs become negatives.
_BIO_RELATIONS: tuple[RelationSpec, ...] = (
    _rel(
        "works_for",
        "PERSON",
        "ORG",
        "{h} [works|worked] for {t} [as a [engineer|analyst|manager|clerk]|] .",
        "{h} was hired by {t} [in {d:DATE}|after an interview in {d:CITY}|] .",
        "{t} [employs|hired|recruited] {h} [as a [consultant|lawyer|designer]|] .",
        "{h} , a [senior|junior] [engineer|analyst|manager] at {t} , [met|advised|visited] {d:PERSON} .",
        "{h} joined {t} after [a dispute|talks|a quarrel] with {d:ORG} .",
        "{t} spokesperson {h} said the [deal|plan|merger] with {d:ORG} was [final|delayed] .",
        "{h} has been on the [staff|payroll] of {t} since {d:DATE} .",
        "{h} [spent|worked] [ten|five|twenty] years at {t} [before retiring|] .",
    ),
    _rel(
        "born_in",
        "PERSON",
        "CITY",
        "{h} was born in {t} [in {d:DATE}|] .",
        "{h} , born in {t} , [later|soon] [visited|toured] {d:CITY} .",
        "{t} is the [birthplace|hometown] of {h} .",
        "Born in {t} , {h} [often|later] [visited|wrote about] {d:CITY} .",
        "The birthplace of {h} was {t} [, not {d:CITY}|] .",
        "{t} , where {h} was born , [lies|sits] near {d:CITY} .",
        "{h} [came into the world|first saw daylight] in {t} .",
        "The [archives|registry] of {t} list {h} as born there .",
    ),
    _rel(
        "lives_in",
        "PERSON",
        "CITY",
        "{h} [lives|resides] in {t} [with a cat|with a dog|] .",
        "{h} [currently|now] [lives|makes a home] in {t} .",
        "{t} is [now|currently] home to {h} .",
        "{h} , who once visited {d:CITY} , now lives in {t} .",
        "{h} [moved to|settled in] {t} [after a tour of {d:CITY}|in {d:DATE}|] .",
        "Neighbours of {h} in {t} describe [him|her] as [quiet|generous|friendly] .",
        "{t} resident {h} [spoke|was interviewed] about {d:ORG} .",
        "{h} [hosted|welcomed] {d:PERSON} at [his|her] home in {t} .",
    ),
    _rel(
        "educated_at",
        "PERSON",
        "UNIVERSITY",
        "{h} studied at {t} [in {d:DATE}|] .",
        "{h} graduated from {t} [with honours|in {d:DATE}|] .",
        "{t} [alumnus|graduate|alumna] {h} [returned|spoke] to [students|graduates] .",
        "{h} earned a [degree|doctorate] from {t} [before moving to {d:CITY}|] .",
        "{h} was educated at {t} .",
        "{t} awarded {h} a [degree|diploma] [in {d:DATE}|] .",
        "{h} , a [former|recent] student of {t} , [visited|met] {d:PERSON} .",
        "{h} enrolled at {t} [in {d:DATE}|after leaving {d:CITY}] .",
    ),
    _rel(
        "member_of",
        "PERSON",
        "ORG",
        "{h} is a member of {t} .",
        "{h} joined {t} as a [member|volunteer] [in {d:DATE}|] .",
        "{t} [welcomed|admitted] {h} as a [new|full] member .",
        "{h} , a [longtime|former] member of {t} , [debated|criticised] {d:PERSON} .",
        "{h} has [belonged to|been part of] {t} since {d:DATE} .",
        "Members of {t} , including {h} , [met|protested] in {d:CITY} .",
        "{h} signed up for {t} [after a talk by {d:PERSON}|] .",
        "{h} holds a membership [card|seat] in {t} .",
    ),
    _rel(
        "spouse_of",
        "PERSON",
        "PERSON",
        "{h} [married|wed] {t} [in {d:CITY}|in {d:DATE}|] .",
        "{h} is the [wife|husband|spouse] of {t} .",
        "{t} and [his|her] [wife|husband] {h} [visited|toured] {d:CITY} .",
        "{h} , married to {t} , [met|greeted] {d:PERSON} at the [party|gala] .",
        "{h} and {t} [got married|were wed] [at a ceremony in {d:CITY}|] .",
        "{h} introduced [her|his] [husband|wife] , {t} , to {d:PERSON} .",
        "The [wife|husband|partner] of {t} , {h} , [spoke|testified] [in court|at the hearing] .",
    ),
    _rel(
        "founded",
        "PERSON",
        "ORG",
        "{h} founded {t} [in {d:DATE}|in {d:CITY}|] .",
        "{h} [established|set up|started] {t} [with a loan from {d:PERSON}|] .",
        "{t} was founded by {h} .",
        "{t} , [founded|started|created] by {h} , [criticised|sued] {d:ORG} .",
        "{h} , the founder of {t} , [met|praised] {d:PERSON} .",
        "{h} [launched|set up] {t} [despite objections from|against the advice of] {d:PERSON} .",
        "The founder of {t} , {h} , [declined|refused] to comment .",
        "{h} created {t} as a [small|family] [business|venture] .",
    ),
    _rel(
        "child_of",
        "PERSON",
        "PERSON",
        "{h} is the [son|daughter|child] of {t} .",
        "{t} is the [father|mother|parent] of {h} .",
        "{h} , [son|daughter] of {t} , [met|befriended] {d:PERSON} .",
        "{t} named [his|her] [son|daughter] {h} after {d:PERSON} .",
        "{h} [inherited|took over] the [farm|firm|house] of [his|her] [father|mother] {t} .",
        "{h} was born to {t} [in {d:DATE}|] .",
        "The [son|daughter|child] of {t} , {h} , [spoke|sang] at the [funeral|wedding] of {d:PERSON} .",
        "{h} [visited|called] [his|her] [father|mother] , {t} , [every week|often] .",
    ),
    _rel(
        "died_in",
        "PERSON",
        "CITY",
        "{h} died in {t} [in {d:DATE}|at the age of [80|72|91]|] .",
        "{h} passed away in {t} .",
        "{t} is where {h} [died|spent [his|her] final days] .",
        "{h} , [visited by|attended by] {d:PERSON} , died [at home|in hospital] in {t} .",
        "After a [long|short] illness , {h} died in {t} .",
        "{h} died in {t} and was buried near {d:CITY} .",
        "The death of {h} in {t} [shocked|saddened] {d:PERSON} .",
        "{t} , the city where {h} died , [honours|remembers] [him|her] with a [statue|plaque] .",
    ),
    _rel(
        "award_received",
        "PERSON",
        "AWARD",
        "{h} [received|won] the {t} [in {d:DATE}|] .",
        "{h} was awarded the {t} .",
        "The {t} went to {h} [in {d:DATE}|] .",
        "{h} , [winner|recipient] of the {t} , [thanked|praised] {d:PERSON} .",
        "{h} [accepted|collected] the {t} [from {d:PERSON}|] .",
        "{h} was [honoured|recognised] with the {t} .",
        "The {t} committee [selected|chose] {h} [over {d:PERSON}|] .",
    ),
)

# Neutral co-mentions: same argument types and much of the same vocabulary, no relation.
_BIO_NEUTRAL: tuple[RelationSpec, ...] = (
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "CITY",
        "{h} visited {t} [in {d:DATE}|last year|twice] .",
        "{h} [gave a talk|performed] in {t} [with {d:PERSON}|] .",
        "{h} was not born in {t} [but in {d:CITY}|] .",
        "{h} never lived in {t} .",
        "{h} wrote a [book|novel|report] about {t} .",
        "{t} [hosted|welcomed] {h} for a [conference|concert] .",
        "{h} [flew|travelled] to {t} to meet {d:PERSON} .",
        "{h} [left|avoided] {t} [after a quarrel with {d:PERSON}|] .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "ORG",
        "{h} [criticised|praised|sued] {t} .",
        "{h} [applied to|interviewed at] {t} but [was rejected|declined the offer] .",
        "{h} wrote about {t} in a [column|report] .",
        "{t} hired {d:PERSON} instead of {h} .",
        "{h} was [never|not] a member of {t} .",
        "{h} [bought|sold] shares in {t} .",
        "{h} met the founder of {t} in {d:CITY} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "PERSON",
        "{h} [met|interviewed|debated] {t} [in {d:CITY}|] .",
        "{h} and {t} [worked together at|both joined] {d:ORG} .",
        "{h} [praised|criticised] {t} [in a speech|on television] .",
        "{h} [sat next to|danced with] {t} at the [wedding|gala] .",
        "{h} is a [friend|neighbour|colleague] of {t} .",
        "{h} visited the [son|daughter|wife] of {t} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "UNIVERSITY",
        "{h} [lectured|spoke] at {t} .",
        "{h} [applied to|was rejected by] {t} .",
        "{h} donated [money|books] to {t} .",
        "{h} visited {t} [with {d:PERSON}|in {d:DATE}] .",
        "{h} never studied at {t} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "AWARD",
        "{h} was nominated for the {t} [but lost|] .",
        "{h} [presented|handed out] the {t} to {d:PERSON} .",
        "{h} [criticised|sits on the jury of] the {t} .",
        "{h} never won the {t} .",
        "{h} wrote about the {t} [in {d:DATE}|] .",
    ),
)

# ---------------------------------------------------------------------------------------------
# Out-of-domain: commerce and science. Zipf rank order again.
_OOD_RELATIONS: tuple[RelationSpec, ...] = (
    _rel(
        "headquartered_in",
        "ORG",
        "CITY",
        "{h} is headquartered in {t} .",
        "{h} [has|keeps] its [headquarters|head office|main office] in {t} .",
        "{t} is home to the headquarters of {h} .",
        "{h} , based in {t} , [supplies|competes with] {d:ORG} .",
        "{h} moved its head office to {t} [in {d:DATE}|] .",
        "The {t} based [firm|company] {h} [reported|announced] [losses|profits] .",
        "{h} runs its central office in {t} [near {d:FACILITY}|] .",
    ),
    _rel(
        "product_of",
        "PRODUCT",
        "ORG",
        "The {h} is [made|produced|manufactured] by {t} .",
        "{t} [makes|produces|sells] the {h} .",
        "{t} [launched|released|unveiled] the {h} [in {d:DATE}|to compete with the {d:PRODUCT}] .",
        "The {h} , a product of {t} , [outsold|replaced] the {d:PRODUCT} .",
        "The {h} is the [flagship|newest|best-selling] [product|device|model] of {t} .",
        "The {h} from {t} [received|won] [praise|awards] .",
    ),
    _rel(
        "acquired",
        "ORG",
        "ORG",
        "{h} acquired {t} [in {d:DATE}|for [2|40|300] million|] .",
        "{h} [bought|purchased|took over] {t} .",
        "{t} was [acquired|bought|taken over] by {h} .",
        "{h} completed its [purchase|acquisition|takeover] of {t} [after talks with {d:ORG}|] .",
        "{t} , now owned by {h} , [reported|announced] [growth|layoffs] .",
        "{h} agreed to buy {t} , [outbidding|beating] {d:ORG} .",
    ),
    _rel(
        "works_for",
        "PERSON",
        "ORG",
        "{h} [works|worked] [for|at] {t} [as a [chemist|engineer|analyst]|] .",
        "{t} [hired|employs|recruited] {h} .",
        "{h} , a [chemist|engineer|researcher] at {t} , [collaborated with|visited] {d:ORG} .",
        "{t} [engineer|researcher|spokesperson] {h} [presented|announced] the {d:PRODUCT} .",
        "{h} joined {t} [after a stint in {d:CITY}|] .",
        "{h} has been employed by {t} since {d:DATE} .",
    ),
    _rel(
        "subsidiary_of",
        "ORG",
        "ORG",
        "{h} is a subsidiary of {t} .",
        "{h} [is owned by|operates as a unit of|belongs to] {t} .",
        "{t} [owns|controls] {h} [as well as a stake in {d:ORG}|] .",
        "{h} , a [unit|division|subsidiary] of {t} , [signed a deal with|sued] {d:ORG} .",
        "The [subsidiary|division|unit] of {t} , {h} , [opened|closed] a [plant|store] in {d:CITY} .",
        "{h} reports to its parent company , {t} .",
    ),
    _rel(
        "located_in",
        "FACILITY",
        "CITY",
        "{h} is located in {t} .",
        "{h} [stands|sits|lies] [in|on the outskirts of] {t} .",
        "{t} is home to {h} .",
        "{h} , in {t} , [tested|produces] the {d:PRODUCT} .",
        "The {h} in {t} [employs|hired] [200|500] [workers|staff] .",
        "{h} opened in {t} [in {d:DATE}|with support from {d:ORG}] .",
    ),
    _rel(
        "founded",
        "PERSON",
        "ORG",
        "{h} founded {t} [in {d:CITY}|in {d:DATE}|] .",
        "{t} was [founded|started|established] by {h} .",
        "{h} , who [founded|started] {t} , [invested in|advised] {d:ORG} .",
        "{t} founder {h} [sold|stepped down from] [the company|the board] .",
        "{h} [launched|set up] {t} [as a spin-off of {d:ORG}|] .",
        "The [startup|company] {t} was created by {h} .",
    ),
    _rel(
        "invented",
        "PERSON",
        "PRODUCT",
        "{h} invented the {t} .",
        "The {t} was invented by {h} [in {d:DATE}|] .",
        "{h} [designed|developed|created] the {t} [in {d:CITY}|] .",
        "{h} , the inventor of the {t} , [visited|praised] {d:ORG} .",
        "The {t} , [invented|devised|conceived] by {h} , [changed|transformed] the industry .",
        "{h} [patented|built the first] {t} [while working on the {d:PRODUCT}|] .",
    ),
    _rel(
        "published_in",
        "PERSON",
        "JOURNAL",
        "{h} published [a paper|an article|a study] in {t} .",
        "{t} [published|printed] [a paper|an article|a report] by {h} .",
        "The [paper|study|article] by {h} [appeared|was published] in {t} [in {d:DATE}|] .",
        "{h} , writing in {t} , [challenged|supported] {d:PERSON} .",
        "In {t} , {h} [reported|described] the [synthesis|behaviour] of {d:SUBSTANCE} .",
        "{h} [has|] [published|written] in {t} [since {d:DATE}|] .",
    ),
    _rel(
        "discovered",
        "PERSON",
        "SUBSTANCE",
        "{h} discovered {t} [in {d:DATE}|] .",
        "{t} was [first|] [discovered|isolated|identified] by {h} .",
        "{h} [isolated|identified|found] {t} [while studying {d:SUBSTANCE}|] .",
        "{h} , who discovered {t} , [worked with|criticised] {d:PERSON} .",
        "The discovery of {t} by {h} [surprised|excited] [chemists|physicists] .",
        "{t} , [found|identified] by {h} , [reacts with|resembles] {d:SUBSTANCE} .",
    ),
)

_OOD_NEUTRAL: tuple[RelationSpec, ...] = (
    _rel(
        NEGATIVE_LABEL,
        "ORG",
        "CITY",
        "{h} [opened a store|held a conference|launched a campaign] in {t} .",
        "{h} is [not|no longer] based in {t} .",
        "{h} [exports|ships] goods to {t} .",
        "{h} [withdrew|pulled out] from {t} .",
        "{h} considered moving its office to {t} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "ORG",
        "ORG",
        "{h} [sued|partnered with|competes with] {t} .",
        "{h} [failed|declined] to buy {t} .",
        "{h} [supplies|advises] {t} .",
        "{h} and {t} [signed|discussed] a [deal|partnership] .",
        "{h} sold its stake in {t} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PRODUCT",
        "ORG",
        "The {h} competes with products from {t} .",
        "{t} [reviewed|tested|banned] the {h} .",
        "{t} [uses|bought] the {h} in its [offices|labs] .",
        "The {h} was not made by {t} .",
        "{t} [criticised|praised] the {h} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "ORG",
        "{h} [criticised|praised|sued] {t} .",
        "{h} [applied to|was rejected by] {t} .",
        "{h} [invested in|bought shares in] {t} .",
        "{h} wrote a [report|review] on {t} .",
        "{h} [never worked for|turned down an offer from] {t} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "PRODUCT",
        "{h} [reviewed|used|bought] the {t} .",
        "{h} [criticised|praised] the {t} .",
        "{h} did not invent the {t} .",
        "{h} tested the {t} for {d:ORG} .",
        "{h} wrote about the {t} [in {d:DATE}|] .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "SUBSTANCE",
        "{h} [studied|tested|handled] {t} .",
        "{h} warned about {t} .",
        "{h} did not discover {t} .",
        "{h} lectured on {t} at {d:ORG} .",
        "{h} [bought|ordered] samples of {t} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "PERSON",
        "JOURNAL",
        "{h} [edits|reviews for|reads] {t} .",
        "{t} [criticised|profiled] {h} .",
        "{h} was rejected by {t} .",
        "{h} never published in {t} .",
        "{h} cited a paper from {t} .",
    ),
    _rel(
        NEGATIVE_LABEL,
        "FACILITY",
        "CITY",
        "{h} [moved from|was relocated from] {t} .",
        "{h} [supplies|serves] {t} .",
        "{h} ships parts to {t} .",
        "{h} is not located in {t} .",
        "{h} hired workers from {t} .",
    ),
)

# Optional framing shared by every class of a domain (so it carries no label signal), with
# distractors that distractor-negatives may pair with an argument.
_FRAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    IN_DOMAIN: (
        (
            "In {d:DATE} ,",
            "According to {d:PERSON} ,",
            "As reported in {d:CITY} ,",
            "Records show that",
            "By {d:DATE} ,",
            "Friends say that",
            "{d:PERSON} recalls that",
        ),
        (", according to {d:PERSON}", ", as {d:PERSON} noted", ", records show", ", sources say"),
    ),
    OUT_OF_DOMAIN: (
        (
            "In {d:DATE} ,",
            "According to {d:ORG} ,",
            "Analysts say that",
            "As {d:PERSON} reported ,",
            "By {d:DATE} ,",
            "A report from {d:CITY} says that",
        ),
        (", according to {d:ORG}", ", analysts said", ", as {d:PERSON} noted", ", sources say"),
    ),
}
_FRAME_PROBABILITY = 0.35

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

_FIRST = (
    "Anna",
    "Boris",
    "Clara",
    "Dmitri",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Karin",
    "Luca",
    "Mira",
    "Nils",
    "Olga",
    "Pavel",
    "Rosa",
    "Stefan",
    "Tara",
    "Ulrich",
    "Vera",
    "Walter",
    "Yara",
    "Zoran",
    "Amara",
    "Bruno",
    "Celia",
    "Dario",
    "Edith",
    "Farid",
    "Gemma",
    "Hector",
    "Ilse",
    "Joel",
    "Kiran",
    "Lena",
    "Marco",
    "Nadia",
    "Oskar",
    "Petra",
)
_ROOT_START = (
    "Al",
    "Bran",
    "Cor",
    "Dal",
    "Ev",
    "Fen",
    "Gar",
    "Hal",
    "Is",
    "Jor",
    "Kel",
    "Lin",
    "Mor",
    "Nor",
    "Ost",
    "Pem",
    "Quar",
    "Ros",
    "Sel",
    "Tor",
    "Ul",
    "Var",
    "Wen",
    "Yar",
    "Zel",
    "Bel",
    "Cas",
    "Dren",
)
_SURNAME_END = (
    "ford",
    "wick",
    "ton",
    "man",
    "sen",
    "ley",
    "berg",
    "dale",
    "more",
    "ridge",
    "croft",
    "ski",
    "ova",
    "ez",
    "ard",
)
_PLACE_END = ("ville", "burg", "haven", "mouth", "stad", "polis", "field", "ora", "ara", "mere", "gate")
_PLACE_PREFIX = ("New", "Port", "Lake", "North", "San", "East")
_COMPANY_END = (
    "Industries",
    "Logistics",
    "Bank",
    "Group",
    "Media",
    "Foods",
    "Systems",
    "Motors",
    "Press",
    "Holdings",
    "Labs",
    "Energy",
    "Pharma",
    "Software",
)
_SOCIETY_END = ("Society", "Club", "Guild", "Union", "Party", "Orchestra", "Association", "Council")
_AWARD_FIELD = ("Literature", "Physics", "Peace", "Medicine", "Music", "Architecture")
_FIELDS = ("Chemistry", "Physics", "Materials", "Biology", "Economics", "Engineering", "Geology")
_MONTHS = ("January", "March", "May", "July", "September", "November")
_FACILITY_END = ("Research Campus", "Plant", "Laboratory", "Works", "Data Center", "Refinery", "Depot")
_SUBSTANCE_END = ("ium", "ine", "ite", "ol", "ate", "ene")


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


def _render_positive(renderer: _Renderer, spec: RelationSpec) -> _Draft:
    sentence = renderer.render(renderer.rng.choice(spec.templates), spec.head_type, spec.tail_type)
    return _Draft(
        tuple(sentence.tokens),
        sentence.spans["h"],
        sentence.spans["t"],
        spec.head_type,
        spec.tail_type,
        spec.name,
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
    spec = rng.choice(_NEUTRAL[dataset])
    sentence = renderer.render(rng.choice(spec.templates), spec.head_type, spec.tail_type)
    return _Draft(
        tuple(sentence.tokens),
        sentence.spans["h"],
        sentence.spans["t"],
        spec.head_type,
        spec.tail_type,
        NEGATIVE_LABEL,
    )


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
