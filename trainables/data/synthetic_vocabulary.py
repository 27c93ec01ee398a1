"""The synthetic corpus's vocabulary: relation templates, framing clauses and name parts.

Hand-written data, no logic: :mod:`trainables.data.synthetic` renders sentences from it.
"""

from __future__ import annotations

from dataclasses import dataclass

IN_DOMAIN = "synthetic"
OUT_OF_DOMAIN = "synthetic_ood"
NEGATIVE_LABEL = "no_relation"


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

# ---------------------------------------------------------------------------------------------
# Name parts of invented entities (trainables.data.synthetic draws pools from them).

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
