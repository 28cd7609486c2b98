"""Decide whether a rep is venting about a customer, and which thinking traps it shows.

Rule-based on purpose: it is fast, explainable (every trap comes with the words that
triggered it) and easy to correct when a rep reports a misfire. A miss costs little and
a misfire costs a lot, so every rule asks for two things before it fires: a trap cue,
and a target on the buying side. Quoted speech, negated or corrected judgements,
questions to the team and remarks about our own side are taken out first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from re import _constants as _C  # noqa: N812 - sre opcodes, to read gates off the rules
from re import _parser as _P  # noqa: N812

from bot.domain.text import normalize_slack_text
from bot.domain.traps import Trap, sort_by_priority


@dataclass(frozen=True, slots=True)
class Evidence:
    trap: Trap
    phrase: str  # the words that triggered the trap, from the normalised text


@dataclass(frozen=True, slots=True)
class Detection:
    nudge: bool
    traps: tuple[Trap, ...]  # main first (priority order); () when nudge is False
    evidence: tuple[Evidence, ...]

    @property
    def main_trap(self) -> Trap | None:
        return self.traps[0] if self.traps else None


SILENT = Detection(nudge=False, traps=(), evidence=())


class Side(Enum):
    CUSTOMER = "customer"
    OWN = "own"  # our tools, teams, process, travel
    SELF = "self"  # the rep (I / we)
    UNKNOWN = "unknown"


class Target(Enum):
    """Who a rule's cue has to be about before it may fire."""

    CUSTOMER = "customer"  # the nearest subject before the cue must be the buying side
    CUSTOMER_OR_DEAL = "customer_or_deal"  # also fine: we/I about this deal ("we'll never win")
    BUILT_IN = "built_in"  # the pattern names the customer itself ("their cfo's fault")


_GatedPart = tuple[frozenset[str] | None, re.Pattern[str]]


@dataclass(frozen=True, slots=True)
class Rule:
    trap: Trap
    pattern: re.Pattern[str]
    target: Target
    parts: tuple[_GatedPart, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alternatives = _ALTERNATIVES.get(self.pattern.pattern, (self.pattern.pattern,))
        object.__setattr__(self, "parts", _gated_parts(alternatives))


# The alternatives each combined pattern was built from, so rules can gate them one by one.
_ALTERNATIVES: dict[str, tuple[str, ...]] = {}


def _rx(*alternatives: str) -> re.Pattern[str]:
    combined = "|".join(f"(?:{alt})" for alt in alternatives)
    _ALTERNATIVES[combined] = alternatives
    return re.compile(combined)


# --- keyword gates: skip a pattern unless a word it needs starts somewhere in the message ---
#
# Python's re tries every alternative at every position; most messages contain none of the
# words a pattern needs. Each alternative gets a gate: word prefixes (up to 4 characters) of
# which at least one must begin a word of the message. Derived from the pattern itself, so
# a gate can never hide a match; alternatives with no usable gate always run.

_GATE_PREFIX = 4
_WORD = re.compile(r"\w+")


def _word_prefixes(text: str) -> set[str]:
    prefixes: set[str] = set()
    for word in _WORD.findall(text):
        for size in range(1, min(len(word), _GATE_PREFIX) + 1):
            prefixes.add(word[:size])
    return prefixes


def _is_word_char(code: object) -> bool:
    if not isinstance(code, int):
        return False
    char = chr(code)
    return char.isalnum() or char == "_"


_Items = list[tuple[object, object]]


def _gates(items: _Items, at_word_start: bool) -> tuple[list[set[str]], bool]:
    """Every gate the items require, and whether the position after them starts a word.

    A gate is a set of word prefixes of which at least one must start a word of the text.
    """
    gates: list[set[str]] = []
    index = 0
    while index < len(items):
        op, arg = items[index]
        if op is _C.LITERAL and at_word_start and _is_word_char(arg):
            word = ""
            while index < len(items) and items[index][0] is _C.LITERAL:
                if not _is_word_char(items[index][1]):
                    break
                word += chr(items[index][1])  # type: ignore[arg-type]
                index += 1
            gates.append(_extend_with_branch(word, items[index:]))
            at_word_start = False
            continue
        at_word_start = _step(op, arg, at_word_start, gates)
        index += 1
    return gates, at_word_start


def _step(op: object, arg: object, at_word_start: bool, gates: list[set[str]]) -> bool:
    """Collect the gates of one non-word item; return whether a word may start after it."""
    if op is _C.LITERAL:
        return not _is_word_char(arg)
    if op is _C.AT:
        return arg in (_C.AT_BOUNDARY, _C.AT_BEGINNING, _C.AT_BEGINNING_LINE)
    if op is _C.SUBPATTERN:
        inner, after = _gates(list(arg[3]), at_word_start)  # type: ignore[index]
        gates.extend(inner)
        return after
    if op is _C.BRANCH:
        branches = [_gates(list(branch), at_word_start)[0] for branch in arg[1]]  # type: ignore[index]
        if all(branches):
            gates.append(set().union(*(_best(found) for found in branches)))
        return False
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        low, _, body = arg  # type: ignore[misc]
        inner, _ = _gates(list(body), at_word_start)
        if low >= 1:
            gates.extend(inner)
        return at_word_start and _ends_with_space(list(body))
    return at_word_start if op in (_C.ASSERT, _C.ASSERT_NOT) else False


def _extend_with_branch(word: str, rest: _Items) -> set[str]:
    """sre factors shared prefixes ("dr(?:inking|ank)"); glue them back for a sharper gate."""
    if len(word) >= _GATE_PREFIX or not rest or rest[0][0] is not _C.BRANCH:
        return {word[:_GATE_PREFIX]}
    extended = set()
    for branch in rest[0][1][1]:  # type: ignore[index]
        tail = ""
        for op, arg in branch:
            if op is not _C.LITERAL or not _is_word_char(arg):
                break
            tail += chr(arg)  # type: ignore[arg-type]
        extended.add((word + tail)[:_GATE_PREFIX])
    return extended


# Prefixes so common that a gate made of them skips almost nothing.
_COMMON_PREFIXES = frozenset(
    {"a", "an", "as", "at", "be", "i", "in", "is", "it", "on", "of", "or", "s", "so", "t"}
    | {"th", "the", "to", "we", "he", "she", "his", "her", "thei", "they", "re", "was", "are"}
    | {"its", "this", "that", "and", "but", "h", "b", "c"}
)


def _gate_strength(gate: set[str]) -> tuple[bool, int, int]:
    rare = not any(prefix in _COMMON_PREFIXES for prefix in gate)
    return rare, min(len(prefix) for prefix in gate), -len(gate)


def _best(gates: list[set[str]]) -> set[str]:
    return max(gates, key=_gate_strength)


def _ends_with_space(items: _Items) -> bool:
    """Whether every way through the items ends on a space, so a word starts after them."""
    if not items:
        return False
    op, arg = items[-1]
    if op is _C.SUBPATTERN:
        return _ends_with_space(list(arg[3]))  # type: ignore[index]
    if op is _C.BRANCH:
        return all(_ends_with_space(list(branch)) for branch in arg[1])  # type: ignore[index]
    return (op, arg) == (_C.LITERAL, ord(" "))


def _gated_parts(
    alternatives: tuple[str, ...],
) -> tuple[tuple[frozenset[str] | None, re.Pattern[str]], ...]:
    parts = []
    for alternative in alternatives:
        found, _ = _gates(list(_P.parse(alternative)), at_word_start=False)
        compiled = re.compile(alternative)
        parts.append((frozenset(_best(found)) if found else None, compiled))
    return tuple(parts)


# --- who is talked about -------------------------------------------------------------------

_ROLE = (
    r"(?:c[efitmo]o|ciso|cro|chief \w+ officer|s?vp|evp|eb|dm|economic buyer|"
    r"decision[- ]?makers?|buyers?|buying (?:group|committee)|procurement|purchasing|sourcing|"
    r"champions?|sponsors?|execs?|executives?|directors?|head of [\w&-]+(?: ops| it)?|"
    r"stakeholders?|"
    r"customers?|clients?|prospects?|board|committee|gatekeepers?|admins?|architects?|"
    r"managers?|boss|team|people|folks|guys?|lady|woman|man|dude|lawyers?|legal|finance|it|"
    r"security|company|org|side|leadership|c-suite|contact|counterpart|owner|founder|"
    r"president|controller|analyst|lead|pm|engineers?|users?)"
)
_CUSTOMER_REF = re.compile(
    r"\b(?:(?:their|the customer's|the client's|the prospect's)(?: [a-z-]+){0,2} " + _ROLE + r"\b"
    r"|the (?:new |old |interim |acting |current |main |other )?(?:customer|client|prospect|"
    r"buyer|c[efit]o|ciso|cro|s?vp|evp|eb|dm|economic buyer|decision[- ]?maker|champion|"
    r"buying committee|account|director|head of \w+|procurement \w+|it director|it manager|"
    r"ops lead|ops director|ops manager|gc|general counsel|gatekeeper|committee|board|"
    r"evaluator|coo|cio|architect|stakeholder)s?\b"
    r"|(?<!our )(?<!my )\b(?:procurement|purchasing|their side|their end|their org|"
    r"their company|their team|that company|this company|those guys|these guys|"
    r"this guy|that guy|this dude|that dude|this woman|that woman|this lady|that lady|"
    r"this client|this customer|this prospect|this buyer)\b"
    r"|\b[a-z]+'s (?:[a-z-]+ )?" + _ROLE + r"\b"
    r"|\b(?:our|my) (?:main |new |old |internal )?(?:champion|eb|economic buyer|buyer|"
    r"contact|sponsor|exec sponsor|customer|client|prospect|dm|decision[- ]?maker|"
    r"stakeholder)s?\b)"
)
_OWN_REF = re.compile(
    r"\b(?:our|my) (?:[a-z-]+ ){0,2}[a-z-]+\b"
    # Bare team and tool names are ours, unless the text says whose ("their legal", "vp of ops").
    r"|(?<!their )(?<!of )(?<!'s )(?<!sales )(?<!vp )"
    r"\b(?:legal(?! (?:lady|guy|gal|woman|man|dude|person|people|folks)\b)|"
    r"ops(?! (?:lead|director|manager|mgr|head|vp|lady|guy|gal|woman|man|dude|person|people|"
    r"folks)\b)|"
    r"revops|rev ops|deal desk|"
    r"engineering|product team|support|marketing|enablement|management|the se|the sdr|"
    r"the bdr|se team|"
    r"the crm|crm|cpq|the quoting tool|quoting tool|the tool|the portal|the sandbox|"
    r"the demo env(?:ironment)?|zoom|jira|(?:the|this|that|my) (?:airline|flight|hotel|weather|"
    r"train|uber|cab|taxi|airport)|"
    r"traffic|wifi|vpn|the laptop|the printer|hq|finance team|comp plan|the system|"
    r"(?:internal|team|pipeline|forecast|pipe|standup|stand-up) (?:meetings?|calls?|syncs?)|"
    r"leadership|sales ops|the territory|territory split|quota|comp|pricing page|the cro)\b"
)
# Our people, teams and tools that a later "they" or "he" can point back to ("our logo" can't).
_OWN_AGENT_REF = re.compile(
    r"\b(?:our|my) (?:[a-z-]+ )?(?:team|legal|lawyers?|manager|boss|se|sdr|bdr|csm|ops|"
    r"product|engineering|support|leadership|cro|ceo|cfo|vp|finance|marketing|people|folks|"
    r"guys|tool|crm|system|portal|process|partner team|implementation team|partners?|"
    r"resellers?|integrators?)\b"
    r"|(?<!their )(?<!of )(?<!'s )(?<!sales )(?<!vp )"
    r"\b(?:legal(?! (?:lady|guy|gal|woman|man|dude|person|people|folks)\b)|"
    r"ops(?! (?:lead|director|manager|mgr|head|vp|lady|guy|gal|woman|man|dude|person|people|"
    r"folks)\b)|"
    r"revops|rev ops|deal desk|"
    r"engineering|product team|support|marketing|enablement|management|leadership|"
    r"sales ops|the se|the sdr|the bdr|se team|the crm|crm|cpq|the quoting tool|the tool|"
    r"finance team|the cro)\b"
)
# Subject forms only: "keeps us waiting" is still about whoever keeps us waiting.
_SELF_REF = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|im|ive|we|we're|we've|we'd|we'll)\b")
_PRONOUN_REF = re.compile(
    r"\b(?:he|he's|hes|he'll|he'd|him|his|she|she's|shes|she'll|she'd|her|they|they're|"
    r"theyre|they'll|they'd|they've|them|their|everyone there|no one there|nobody there)\b"
)
_DEAL_REF = re.compile(
    r"\b(?:this|that|the|their) (?:deal|renewal|opp|opportunity|account|one|pilot|poc|"
    r"expansion|upsell|contract|rfp|evaluation|bake-?off|project|process)\b|\b(?:them|him|her)\b"
    r"|\b(?:these|those|the|their) (?:calls|meetings|demos|sessions|syncs|workshops|qbrs)\b"
)

# --- what takes a judgement back out -------------------------------------------------------

_NEGATION_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever (?:been|was|were)|\bno longer|\bhardly|\bfar from|\bnothing like|"
    r"\bnowhere near|\bisnt|\bwasnt|\barent|\bdoesnt|\bdidnt|\bwouldnt|\bdont)"
    r"(?: (?:a|an|the|really|actually|at all|being|even|just|that|so|quite|such a|"
    r"exactly|some|being a|\w+ly))* ?$"
)
_CORRECTION = _rx(
    r"\b(?:i|we) (?:thought|assumed|figured|was sure|were sure|worried|feared|expected|"
    r"had (?:him|her|them) pegged|wrote (?:him|her|them) off)\b.*\b(?:but|turns out|turned out|"
    r"actually|in fact|it was|it's just|instead)\b",
    r"\b(?:i was|we were) wrong\b",
    r"\bmy bad\b",
    r"\b(?:i|we) (?:don't|do not|didn't|dont|did not) (?:think|believe|feel|reckon)\b",
    r"\b(?:not saying|it's not that|it isn't that|not that)\b",
    r"\b(?:scratch that|walk back|take (?:it|that) back|correction)\b",
    r"(?:^|\b(?:i|we) )(?:thought|assumed|figured) (?:[\w&'-]+ ){1,3}(?:was|were|is|are)\b.*"
    r"\b(?:but|turns out|turned out|actually)\b",
    # "she isn't anti-us, she just wants proof": a negative read taken back, then the real reason.
    r"\b(?:isn't|is not|wasn't|was not|aren't|are not|not) (?:really |actually |being )?"
    r"(?:anti-?[\w-]+|against (?:us|this|it)|hostile|difficult|stalling|dragging|ghosting|"
    r"biased|lazy|cheap|slow|political|obstructive|rude|cold|blocking)\b[^.]{0,40}, "
    r"(?:he|she|they)(?:'s|'re| is| are| was| were)? (?:just|simply|actually|only)\b",
    r"\bto be fair\b",
    r"\bin (?:his|her|their) defen[cs]e\b",
    r"\bunfair(?:ly)? (?:to|on) (?:him|her|them)\b",
)
_SPEECH_VERB = re.compile(
    # Not the rep's own voice ("let's just say", "i'll put it mildly"), a promise ("when he
    # said he would") or a price quote ("using our quote as leverage").
    r"\b(?:(?<!when he )(?<!when she )(?<!when they )said|"
    r"(?<!let's )(?<!lets )(?<!'s just )(?<!i'd )(?<!i'll )(?<!must )(?<!to )(?<!i )"
    r"(?:says|say)(?! (?:yes|no)\b)|told (?:me|us|him|her|them|the team)|"
    r"tells (?:me|us)|wrote|writes|"
    r"replied|responded|answered|asked|mentioned|claimed|claims|insisted|emailed|texted|"
    r"messaged|(?<!i'll )(?<!let me )(?<!i'd )(?<!to )put it|called it|called (?:us|our [a-z]+)|"
    r"(?<!our )(?<!the )(?<!a )(?<!their )(?<!this )(?<!that )(?<!my )(?<!new )quote|quoted|"
    r"word for word|"
    r"their words|his words|her words|literally said|"
    r"goes(?! (?:nowhere|anywhere|on|off|away|quiet|dark|"
    r"silent|missing|well|badly|live|to|with|into)\b)|went like|screamed|yelled|"
    r"complained(?: that)?|warned|announced|let (?:us|me) know|informed us|"
    r"according to (?:him|her|them|their \w+|the \w+))\b"
)
_QUOTED_SPAN = re.compile(r"\"[^\"]*\"|(?<![a-z])'(?=[a-z])[^']{3,}'(?![a-z])")
# "it's a mess" is about a thing (often ours), not a verdict on a person.
_THING_SUBJECT = re.compile(
    r"(?:(?<!of )\b(?:it|this|that|which|everything|something)"
    # "this deal is insane", "their staffing plan is a mess": a verdict on a thing, not a person.
    r"|\b(?:deal|demo|call|meeting|session|quarter|week|month|year|renewal|pipeline|numbers?|"
    r"results?|win|pitch|product|plan|process|rfp|timeline|deadline|pricing|price|discount|"
    r"contract|scope|project|rollout|workshop|roadmap|proposal|ask|request|budget|schedule|"
    r"setup|integration|migration|data|spec|specs|requirements|questionnaire|paperwork|"
    r"response|offer|answer|reply|feedback|counter|review|approval|audit|policy|step|system|"
    r"tool|portal|platform|api|sandbox|wifi|stack|website|ui|deck))"
    r"(?:'s| is| was| are| were)? ?$"
)
# The rep checking their own assumptions: "note to self: stop assuming they're shopping us".
_SELF_CHECK = re.compile(
    r"\b(?:note to self|stop (?:assuming|thinking|treating|writing)|(?:i|we) (?:keep|kept) "
    r"(?:trying|assuming|thinking|treating)|(?:i|we) (?:need|have|ought) to stop|"
    r"(?:i|we) should (?:stop|quit)|instead of (?:asking|listening|finding out|checking))\b"
)
# "every. single. time." is one phrase typed for emphasis, not three sentences.
_STACCATO = re.compile(r"(?:^|(?<=[.!?,:] ))(?:\w+\. ){2,}\w+\b")
_SENTENCE_SPLIT = re.compile(
    r"(?<=[.!?;])(?<!\bmr\.)(?<!\bms\.)(?<!\bdr\.)(?<!\bst\.)(?<!\bmrs\.)(?<!\bvs\.)\s+"
    r"|\s+(?:-|–|—)\s+|\s*\.\.\.\s*"
)
_CLAUSE_SPLIT = re.compile(
    r",? \b(?:but|though|although|however|yet|whereas|while|except)\b,?|\s*\(\s*|\s*\)\s*"
)
_TEAM_QUESTION = re.compile(
    r"^(?:(?:hey|ok|so|quick q|q)[,:]? )?(?:is|are|was|were|do|does|did|can|could|should|"
    r"would|will|has|have|any ?one|anybody|who|what|when|where|which|how|thoughts|"
    r"any (?:tips|ideas|advice))\b"
)

# --- what praise sounds like, so strong words are not taken for insults ---------------------

_PRAISE = _rx(
    r"\b(?:insane|killer|sick|crazy|beast|monster|wicked|brutal|tough|savage|ruthless|"
    r"relentless|aggressive|demanding|sharp|hard) (?:deal|demo|call|meeting|session|"
    r"quarter|negotiator|questions?|bargain|week|win|result|numbers?|pipeline)\b",
    r"\b(?:but|and) (?:fair|fair enough|reasonable|honest|respectful|professional)\b",
    r"\bfair enough\b",
    r"\b(?:killing|killed|crushing|crushed|nailing|nailed|smashing|smashed|rocking) it\b",
    r"\b(?:respect|admire|love|like) (?:him|her|them|that|how)\b",
)

# --- the traps ------------------------------------------------------------------------------

_INSULT_NOUN = (
    r"(?:jerk|idiot|moron|imbecile|clown|clowns|weasel|weasels|snake|snakes|dinosaur|"
    r"dinosaurs|bully|tyrant|dictator|psycho|lunatic|maniac|egomaniac|narcissist|prick|"
    r"ass|asshole|arse|arsehole|douche|douchebag|tool|muppet|muppets|amateurs?|bozos?|"
    r"buffoons?|crooks?|liars?|frauds?|cheapskates?|penny[- ]pinchers?|bean[- ]counters?|"
    r"bureaucrats?|control freak|nightmare|pain in the (?:ass|neck|butt)|joke|clown show|"
    r"circus|trainwreck|train wreck|dumpster fire|empty suit|yes[- ]man|lightweight|"
    r"tire[- ]kicker|tyre[- ]kicker|time[- ]waster|know[- ]it[- ]all|drama queen|"
    r"toxic \w+|political animal|political snake|snake oil|weirdo|creep|dick|diva|"
    r"headcase|basket case|hack|coward|suit|pushover|zombie|robot|parasite|leech|vulture)"
)
# Insults that only fit a person, so "that muppet" needs no named subject ("this tool" might).
_PERSON_INSULT = (
    r"(?:jerk|idiot|moron|imbecile|clowns?|weasels?|snakes?|dinosaurs?|bully|tyrant|"
    r"dictator|psycho|lunatic|maniac|egomaniac|narcissist|prick|asshole|arsehole|douche|"
    r"douchebag|muppets?|bozos?|buffoons?|crooks?|liars?|cheapskates?|bean[- ]counters?|"
    r"control freak|know[- ]it[- ]all|drama queen|weirdo|creep|diva|headcase|coward|"
    r"parasite|leech|vulture|empty suit|yes[- ]man|tire[- ]kicker|tyre[- ]kicker)"
)
_INSULT_ADJ = (
    r"(?:stupid|dumb|clueless|incompetent|useless|lazy|arrogant|toxic|hostile|"
    r"power[- ]hungry|political|two[- ]faced|spineless|paranoid|sleazy|shady|slimy|petty|"
    r"dishonest|sneaky|shifty|rude|condescending|obnoxious|unreasonable|greedy|stingy|"
    r"cheap|impossible|insufferable|unbearable|ignorant|delusional|crazy|nuts|insane|"
    r"hopeless|hopless|pathetic|inept|dense|thick|backwards|spineless|gutless|cowardly|"
    r"self-serving|self-centered|selfish|egotistical|full of (?:it|himself|herself|themselves)|"
    r"out of (?:his|her|their) depth|a (?:total |complete |real )?mess|difficult|"
    r"a piece of work|bonkers|worthless|untrustworthy|clowns|idiots|morons|amateurs|"
    r"snakes|weasels)"
)
_INTENSIFIER = r"(?:(?:a|an|such a|such an|total|totally|complete|completely|real|really|"
_INTENSIFIER += r"absolute|absolutely|utter|utterly|so+|just|pure|being|being a|acting like a|"
_INTENSIFIER += r"acting like|like a|freaking|fricking|bloody|damn|massive|huge|the biggest|"
_INTENSIFIER += r"kind of|kind of a|sort of|bit of a|a bit|pretty|very|super) ){0,3}"
_BE = r"(?:is|'s|are|'re|was|were|be|been|being|seems|seem|sounds|acts|act|comes across as|"
_BE += r"is being|are being|is just|are just|is such|are such)"

_LABEL_RULES = (
    Rule(
        Trap.LABELING,
        _rx(
            rf"\b{_BE} {_INTENSIFIER}{_INSULT_NOUN}\b",
            rf"\b{_BE} {_INTENSIFIER}{_INSULT_ADJ}\b(?! (?:question|pricing|timeline|deadline|"
            r"good|great|smart|fast|talented|sharp|well|organi[sz]ed|prepared|impressive|"
            r"thorough|detailed|quick|efficient|helpful|loyal|responsive))",
            rf"\b(?:what an?|such an?|total|complete|absolute|utter) {_INSULT_NOUN}\b",
        ),
        Target.CUSTOMER,
    ),
    Rule(
        Trap.LABELING,
        _rx(
            rf"\b{_INSULT_NOUN} of an? (?:\w+ )?{_ROLE}\b",
            rf"\b(?:this|that|these|those) (?:{_INSULT_ADJ} )?{_PERSON_INSULT}\b",
            rf"\b(?:this|that|these|those) {_INSULT_ADJ} (?:guy|woman|dude|lady|man|people|"
            r"folks|bunch|crowd|lot|team|company|org|buyer|client|customer)\b",
        ),
        Target.BUILT_IN,
    ),
    Rule(
        Trap.LABELING,
        _rx(rf"\btheir (?:{_INSULT_ADJ}|{_INSULT_NOUN}) (?:of an? )?{_ROLE}\b"),
        Target.BUILT_IN,
    ),
    # "a bunch of bureaucrats" names no one: "our pricing committee is a bunch of …" is ours.
    Rule(
        Trap.LABELING,
        _rx(rf"\b(?:bunch|pack|band|nest|team) of (?:{_INSULT_ADJ} )?{_INSULT_NOUN}s?\b"),
        Target.CUSTOMER,
    ),
)

_COMPETITOR = (
    r"(?:the competition|competition|competitors?|the competitor|the incumbent|incumbent|"
    r"the other (?:vendor|guys|side)|salesforce|oracle|sap|hubspot|microsoft|workday|"
    r"servicenow|gong|zendesk|adobe|ibm|google|aws|\w+)"
)
_COMPETITOR_RULES = (
    Rule(
        Trap.COMPETITOR_BIAS,
        _rx(
            rf"\b(?:in|on) (?:{_COMPETITOR}'s|the competition's|the competitor's|their) "
            r"(?:pocket|payroll|camp|corner|bed)\b",
            rf"\bbiased (?:toward|towards|to|for|in favou?r of) {_COMPETITOR}",
            rf"\b(?:bias|biased|partial) (?:for|to|toward|towards) {_COMPETITOR}",
            rf"\bin bed with {_COMPETITOR}",
            rf"\b(?:sold|married|wedded|glued|joined at the hip|loyal) to {_COMPETITOR}\b",
            rf"\b{_COMPETITOR} (?:fanboy|fanboi|fangirl|shill|puppet|groupie|loyalist|stooge|"
            r"mouthpiece|cheerleader|lapdog)s?\b",
            rf"\b(?:fanboy|fanboi|shill|puppet|groupie|stooge|mouthpiece|cheerleader|lapdog|"
            rf"plant|mole) (?:of|for) {_COMPETITOR}",
            r"\bdr[ai]nk the (?:\w+ )?kool[- ]?aid\b",
            rf"\b(?:brainwashed|blinded|bewitched) by {_COMPETITOR}",
            rf"\bcan't see past {_COMPETITOR}",
            rf"\b(?:rigged|wired|stacked|cooked) (?:for|in favou?r of|toward|towards) "
            rf"{_COMPETITOR}",
            r"\b(?:rfp|eval|evaluation|process|bake-?off|deal|whole thing) (?:is|was) "
            r"(?:rigged|wired|stacked|a sham|a farce|theater|theatre)\b",
            r"\b(?:column fodder|just here to make up the numbers|checkbox vendor|"
            r"just a (?:checkbox|price check|stalking horse)|stalking horse)\b",
            rf"\b(?:bought|paid) (?:off )?by {_COMPETITOR}",
            rf"\b(?:worships|idolizes|idolises|obsessed with|has a crush on) {_COMPETITOR}",
            rf"\bcan't (?:think|see) (?:beyond|past|outside) {_COMPETITOR}",
            rf"\b(?:ex|former)[- ]{_COMPETITOR} (?:guy|person|lifer|lackey|loyalist)\b.*"
            r"\b(?:of course|obviously|naturally|so)\b",
            rf"\bstill works for {_COMPETITOR}\b",
        ),
        Target.CUSTOMER_OR_DEAL,
    ),
)

_HAPPY = r"(?:happy|happier|smiling|content|pleased|satisfied|delighted|sweet|comfy|comfortable)"
_CUST_OBJECT = (
    r"(?:them|him|her|the customer|customers|the client|clients|the account|the buyer|"
    r"the champion|their \w+|everyone over there|everybody there|the \w+ team|acme|\w+'s \w+)"
)
_HAPPINESS_RULES = (
    Rule(
        Trap.CHASING_HAPPINESS,
        _rx(
            rf"\b(?:keep|keeping|kept|make|making|made|get|getting) {_CUST_OBJECT} {_HAPPY}\b",
            rf"\b(?:as long as|so long as|whatever|anything (?:to|that)) (?:keeps? )?"
            rf"(?:they're|theyre|they are|he's|she's|the customer is|{_CUST_OBJECT}) {_HAPPY}\b",
            rf"\b(?:job|goal|priority|mission|role|focus|aim|plan|strategy|number one thing)"
            rf"(?: here| now| this quarter| this year)? (?:is|=) (?:to |just |simply |really )*"
            rf"(?:keep|make|keeping|making) (?:{_CUST_OBJECT}|everyone) {_HAPPY}",
            r"\b(?:customer|client) (?:happiness|smiles)\b.*\b(?:goal|job|priority|all that "
            r"matters|what matters|number one)\b",
            r"\b(?:happy|smiling) (?:customers?|clients?) (?:is|are) (?:the|my|our|all)\b",
            rf"\bkeep (?:{_CUST_OBJECT}) (?:smiling|sweet|on side|onside)\b",
            r"\b(?:stay|keep us) on (?:their|his|her) good side\b",
            rf"\bneed (?:{_CUST_OBJECT}) (?:to be |to stay |to feel )?{_HAPPY}\b",
            rf"\b(?:whatever|anything) (?:it takes|they want) to keep (?:{_CUST_OBJECT}) {_HAPPY}",
        ),
        Target.BUILT_IN,
    ),
)

_VALUE_RULES = (
    Rule(
        Trap.CONVINCING_VALUE,
        _rx(
            r"\b(?:remind|reminding|show|showing|prove to|proving to|convince|convincing|"
            r"re-?convince|re-?convincing|re-?sell|re-?selling|re-?prove) (?:them|him|her|the "
            r"customer|the client|\w+) (?:again )?(?:why (?:they|he|she) (?:picked|chose|"
            r"bought|signed|went with|renewed|trusted)|(?:that )?we(?:'re| are) (?:worth|good|"
            r"great|the right|still the|better|the best|valuable)|how (?:good|great|valuable) "
            r"we are|(?:our|the) worth)",
            r"\b(?:one more|another|an extra|extra|more|a new|fresh) (?:\w+ ){0,2}(?:showcase|"
            r"demo|value|qbr|workshop|deck|business review|case study|feature|session|"
            r"webinar|dashboard|report|freebie|goodies|roi \w+)s? (?:so|to|and) (?:they|he|"
            r"she|remind|prove|show|convince|re-?convince|win (?:them|him|her) back)\b"
            r"(?:.*\b(?:remember|realis|realiz|see|get|appreciate|remind|why|worth|good|great|"
            r"value|chose|picked))?",
            r"\bprove (?:ourselves|our worth|our value|we(?:'re| are) (?:worth|good|valuable|"
            r"the right|still))\b",
            r"\b(?:so|until) (?:they|he|she) (?:remember|remembers|realise|realize|realises|"
            r"realizes|see|sees|appreciate|appreciates) (?:why|how (?:good|great|much)|"
            r"(?:that )?we(?:'re| are) (?:worth|good|great|the))",
            r"\b(?:earn|win|re-?earn) (?:back )?(?:their|his|her) (?:love|approval|respect|"
            r"affection) (?:again|back)\b",
            r"\bwow (?:them|him|her) (?:again|back|into)\b",
            r"\bjustify (?:our|the) (?:price|renewal|existence|seat)\b",
            r"\bremind (?:them|him|her|the customer|the client) (?:how|why) (?:lucky|good|"
            r"great|much)\b",
        ),
        Target.BUILT_IN,
    ),
)

_BAD_RESULT = (
    r"(?:lost|lose|losing|slipped|slip|slipping|stalled|stuck|missed|miss|dead|died|blew up|"
    r"fell through|fell apart|tanked|delayed|late|behind|pushed)"
)
_BLAME_RULES = (
    Rule(
        Trap.BLAMING,
        _rx(
            r"\b(?:screwing|screwed|messing|messed|blowing|blew|ruining|ruined|killing|killed|"
            r"tanking|tanked|sabotaging|sabotaged|torpedoing|torpedoed|derailing|derailed|"
            r"wrecking|wrecked|sinking|sank|sunk|botching|botched|bungling|bungled|"
            r"nuking|nuked|fumbling|fumbled) (?:it|this|everything|the deal|our deal|the "
            r"renewal|our quarter|the quarter|my quarter|my number|our number|the whole thing|"
            r"it all|the close|the forecast|my forecast|the timeline|the project|the rollout)"
            r"(?: up| for us| for me)?\b",
            r"\b(?:it's|its|it is|that's|this is|was) (?:all |entirely |totally |100% )?"
            r"(?:their|his|her|the customer's|the client's|(?:their |the )?[\w-]+'s) fault\b",
            r"\bblame (?:is on|goes to|lies with|sits with) (?:them|him|her|their)\b",
            r"^(?:their|his|her|[\w-]+'s) fault\b",
            r"\b(?:100%|entirely|totally|squarely|all) on their (?:side|end)\b",
            r"\b(?:their|his|her) (?:incompetence|indecision|dithering|stupidity|laziness|"
            r"disorganisation|disorganization|chaos|mess|games|politics|infighting|"
            r"cluelessness|ego|cheapness|greed|flip-?flopping|waffling|foot-?dragging) "
            r"(?:cost|costs|killed|kills|sank|sinks|tanked|lost|blew|is killing|is costing|"
            r"ruined|is ruining|screwed|is why|is the reason|made us|held up|is holding up)\b",
            r"\b(?:thanks to|because of|all because of) (?:their|his|her) (?:incompetence|"
            r"indecision|dithering|stupidity|laziness|games|politics|ego|cluelessness|"
            r"flip-?flopping|waffling|foot-?dragging)\b",
            rf"\b(?:we|i|the deal|it|this|the renewal) (?:\w+ )?{_BAD_RESULT}\b.*\b(?:thanks to|"
            r"all because of|entirely because of|because of) (?:him|her|them|their \w+|that "
            r"\w+|this \w+)\b(?! (?:reorg|budget|freeze|holiday|vacation|leave|audit|policy|"
            r"review|process|cycle|timing))",
            r"\b(?:cost|costing|costs) (?:us|me) (?:the|this|our|my) (?:deal|quarter|number|"
            r"renewal|bonus|club|accelerator|forecast)\b",
            r"\b(?:holding|held) (?:us|everything|the whole deal|the deal) (?:up|back|hostage)\b",
        ),
        Target.CUSTOMER_OR_DEAL,
    ),
)

_BLAME_NAMED_RULES = (
    Rule(
        Trap.BLAMING,
        _rx(
            r"\b(?:we(?:'d| would)?|i(?:'d| would)?|it would|this would|would) (?:have|'ve) "
            r"(?:closed|won|signed|landed|been done|hit|made|booked|gotten|got)\b.*\b"
            r"(?:if|had|were it not for|but for) (?:their|he|she|they|him|her|the customer|"
            r"the client|the buyer)\b",
            r"\b(?:if|had) (?:their \w+|he|she|they|the \w+) (?:did|had done|could do|would "
            r"do|just did|actually did|knew how to do) (?:his|her|their|its) (?:job|homework|"
            r"part)\b",
        ),
        Target.BUILT_IN,
    ),
)

_MIND_RULES = (
    Rule(
        Trap.MIND_READING,
        _rx(
            r"\b(?:only|just|really|obviously|clearly|secretly|simply|all) (?:wants?|wanted|"
            r"cares? about|cared about|is after|are after|is looking for|are looking for|"
            r"in it for|interested in|looking for) (?:a |an |the |to |us to |some )?(?:free|"
            r"himself|herself|themselves|a discount|discount|lower price|cheaper|leverage|"
            r"price check|quote to|squeeze|beat us|look good|cover|protect|pad|credit|"
            r"his own|her own|their own|bonus|promotion|career|ego|a scapegoat|someone to "
            r"blame|to get rid|to kill|to stall|to waste|to play)",
            r"\b(?:free consult(?:ant|ing|ancy)|free consulting|free advice|free work|"
            r"free labou?r)\b",
            r"\b(?:using|used|milking) us (?:for|as|to)\b",
            r"\bjust using us\b",
            r"\b(?:out for|in it for|looking out for) (?:himself|herself|themselves|number one|"
            r"no\.? ?1)\b",
            r"\b(?:protecting|guarding|defending|covering) (?:his|her|their) (?:own )?(?:turf|"
            r"ass|arse|butt|backside|back|rear|empire|patch|kingdom|fiefdom|job|position|"
            r"seat|budget|pet project)\b",
            r"\b(?:building|protect) (?:his|her|their) (?:own )?(?:empire|kingdom|fiefdom|"
            r"resume|résumé|cv)\b",
            r"\bempire[- ]building\b",
            r"\b(?:doesn't|does not|don't|do not|didn't|never) (?:even )?(?:care|give a damn|"
            r"give a shit|give a toss) (?:about|for|if|whether) (?:us|the project|the deal|"
            r"anything|solving|fixing|the outcome|their (?:users|people|team|problem)|success|"
            r"results|what we)\b",
            r"\b(?:wants?|wanted|hoping|hopes) (?:us|this|the project|the deal|me|it) to fail\b",
            r"\b(?:hates|hated|despises|can't stand|cannot stand|has it in for|has a grudge "
            r"against|is out to get|are out to get|resents|loathes) (?:us|me|our|vendors|"
            r"salespeople|sales)\b",
            r"\b(?:stringing|strung|leading) (?:us|me) (?:along|on)\b",
            r"\b(?:playing|played) (?:us|games|politics|hardball for show|dumb|us off)\b",
            r"\b(?:stalling|stonewalling|slow-?walking|sandbagging|dragging (?:his|her|their) "
            r"feet) (?:on purpose|deliberately|intentionally|to|so|because|until)\b",
            r"\b(?:on purpose|deliberately|intentionally)\b(?! to (?:test|check|learn|understand|"
            r"see|make sure|be thorough|stress-test|probe))",
            r"\bhas an? (?:hidden |secret |own |personal )?agenda\b",
            r"(?<!stop )\b(?:pretending|faking|going through the motions|"
            r"just ticking (?:a |the )?box)\b",
            r"\b(?:never|wasn't ever|was never|were never|weren't ever) (?:really )?"
            r"(?:serious|interested|going to buy|intending|planning to buy)\b",
            r"\bnever (?:had|has) any (?:real )?intention\b",
            r"\b(?:threatened|jealous|insecure|scared|terrified|afraid) (?:by|of) (?:us|me|"
            r"change|anything|making|losing|looking|being)\b",
            r"\b(?:wants|wanted|needs) to (?:look good|save face|cover himself|cover herself|"
            r"cover themselves|take credit|get credit|get his|get her)\b",
            r"\bto (?:make (?:himself|herself|themselves) look|cover (?:his|her|their) (?:ass|"
            r"back|butt))\b",
            r"\b(?:fishing|shopping (?:us|around)|kicking (?:the )?tyres|kicking (?:the )?tires)"
            r"\b",
            r"\bknows exactly what (?:he's|she's|they're) doing\b",
            r"\b(?:already|secretly) (?:decided|made up (?:his|her|their) mind|picked|chosen|"
            r"signed with)\b",
            r"\bjust (?:wants?|want) to (?:squeeze|beat|grind|bleed|milk|use|waste)\b",
            r"\b(?:thinks|think) (?:he's|she's|they're|he is|she is|they are) (?:smarter|"
            r"better|above|too good|god|the smartest)\b",
        ),
        Target.CUSTOMER,
    ),
)

_FORTUNE_RULES = (
    Rule(
        Trap.FORTUNE_TELLING,
        _rx(
            r"\b(?:will|'ll|is going to|are going to|is gonna|are gonna|going to|gonna) "
            r"never (?:\w+ )?(?:sign|buy|give|move|close|change|renew|approve|happen|go|budge|"
            r"say yes|agree|commit|pick|choose|come around|come round|listen|let|respect|"
            r"trust|take|see|get|work|like|fund|back|champion|expand|upgrade|pay|convert)\b",
            r"\bnever (?:going to|gonna) (?:\w+ )?(?:sign|buy|happen|close|work|renew|"
            r"change|move|give|budge|approve|agree|commit|pick|choose|come|let|get)\b",
            r"\b(?:will|'ll) not ever\b|\bwon't ever\b|\bnot in a million years\b",
            r"\b(?:waste|wasted|wasting|waste) of (?:(?:my|our|everyone's|his|their) )?(?:time|"
            r"effort|energy|breath|a trip|a meeting|a call|space)\b",
            r"\b(?:pointless|futile|hopeless|a lost cause|lost cause|dead end|dead in the water|"
            r"dead on arrival|doa|going nowhere|a non-?starter|non-?starter|a write-?off|"
            r"written off|a goner|a no-?go)\b",
            r"\b(?:this|that|the|our|their) (?:deal|renewal|opp|opportunity|account|one|"
            r"pilot|poc|expansion|upsell|thing)(?:'s| is| was) (?:\w+ )?(?:dead|done|toast|"
            r"over|lost|cooked|finished|doomed|gone|history|never closing|never going to close)"
            r"\b",
            r"\b(?:deal|renewal|opp|account|it|this)(?:'s| is) (?:already )?(?:dead|toast|"
            r"doomed|cooked|a goner)\b",
            r"\b(?:we|i) (?:don't|do not|dont) (?:stand|have) a (?:chance|prayer|shot|hope)\b",
            r"\b(?:no|zero|not a) (?:chance|way|hope|prayer) (?:in hell )?(?:we|they|he|she|"
            r"this|that|it|of (?:us|them|him|her|this|closing|winning|getting))\b",
            r"\b(?:we|i)(?:'ll| will) never (?:win|close|get|crack|land|convince|sell|break)\b",
            r"\bmight as well (?:give up|walk|walk away|forget|close it out|move on|quit|"
            r"pull the plug|not bother)\b",
            r"\b(?:kiss|say goodbye to|forget about) (?:it|this one|this deal|the deal|the "
            r"renewal|that deal|the expansion|the upsell)\b",
            r"\bnot (?:going to|gonna) happen\b",
            r"\b(?:why|what's the point|no point) (?:even |in )?(?:bother|bothering|trying|"
            r"going|meeting|calling)\b",
            r"\b(?:not|isn't|is not|aren't) worth (?:it|the effort|our time|my time|the time|"
            r"the trouble|chasing|pursuing|another|any more)\b",
            r"\bnothing (?:will|we do will|i do will|is going to) (?:change|convince|move|help)\b",
            r"\bno matter what (?:we|i) do\b",
            r"\b(?:doomed|hopeless|over before it (?:started|began))\b",
            r"\b(?:will|'ll) (?:always|only ever) (?:say no|pick|choose|go with|find a reason)\b",
        ),
        Target.CUSTOMER_OR_DEAL,
    ),
)

_NEG_ACT = (
    r"(?:drag|drags|dragged|dragging|delay|delays|stall|stalls|push|pushes|change|changes|"
    r"complain|complains|cancel|cancels|move|moves|reschedule|reschedules|ghost|ghosts|"
    r"blow|blows|flake|flakes|flip-?flop|flip-?flops|waffle|waffles|miss|misses|"
    r"find|finds|ask for|asks for|want|wants|say no|says no|back out|backs out|renege|"
    r"reneges|nickel|nickels|haggle|haggles|nitpick|nitpicks|derail|derails|stonewall|"
    r"stonewalls|move the goalposts|moves the goalposts|lowball|lowballs|squeeze|squeezes|"
    r"late|slow|difficult|impossible|a nightmare|a pain|the same|like this|like that|"
    r"do this|does this|pull this|pulls this|screw|screws|mess|messes|bail|bails|"
    r"drop the ball|drops the ball|throw|throws|kill|kills|shoot|shoots|block|blocks|"
    r"reject|rejects|ignore|ignores|second-guess|second-guesses|overthink|overthinks)"
)
_POS_ACT_AFTER_NEVER = (
    r"(?:answer|answers|respond|responds|reply|replies|show up|shows up|read|reads|"
    r"return|returns|decide|decides|commit|commits|follow through|follows through|"
    r"deliver|delivers|listen|listens|call back|calls back|get back|gets back|do what|"
    r"does what|make a decision|makes a decision|make decisions|makes decisions|keep|keeps|"
    r"stick|sticks|sign|signs|agree|agrees|approve|approves|move|moves|take|takes|"
    r"give|gives|show|shows|come through|comes through|pick up|picks up|open|opens|"
    r"let us|lets us|trust|trusts|help|helps|say yes|says yes|read the|reads the)"
)
_OVERGEN_RULES = (
    Rule(
        Trap.OVERGENERALIZING,
        _rx(
            r"\b(?:no ?one|nobody|everyone|everybody) (?:likes?|trusts?|respects?|can stand|"
            r"listens to|gets along with|hates?|avoids?) (?:him|her|them|their \w+|the \w+)\b",
            r"\b(?:no ?one|nobody|not a single person|everyone|everybody|not one person) "
            r"(?:over there|there|at \w+|in (?:their|that|the) (?:company|org|building|team|"
            r"office)|on (?:their|that) (?:side|team)|in that place|internally|on the team|"
            r"who works with (?:him|her|them)|who's met (?:him|her)|on his team|on her team)"
            r"(?: \w+){0,3} (?:likes?|trusts?|respects?|listens?|can stand|gets? along|"
            r"takes? (?:him|her|them|anything)|wants?|cares?|believes?|reads?|hates?|"
            r"knows|agrees?|rates?|is on board|is happy)\b",
        ),
        Target.BUILT_IN,
    ),
    Rule(
        Trap.OVERGENERALIZING,
        _rx(
            rf"\b(?:always|constantly|forever|perpetually|every single time|every time) "
            rf"(?:\w+ )?{_NEG_ACT}\b",
            rf"\b{_NEG_ACT} (?:\w+ ){{0,4}}(?:every (?:single )?(?:time|call|meeting|quarter|"
            r"week|month|renewal|deal|cycle|step|round|review)|each and every time|without "
            r"fail|like clockwork|as always|as usual|again and again|over and over)\b",
            rf"(?<!'ll )(?<!will )(?<!to )(?<!gonna )\bnever (?:ever |once |actually |even )?"
            rf"{_POS_ACT_AFTER_NEVER}\b",
            r"\b(?:everything|anything|every decision|every deal|every request|every single "
            r"thing|nothing) (?:with|at|over at) (?:them|him|her|this \w+|these \w+|\w+) "
            r"(?:is|takes|turns into|becomes|gets)\b",
            r"\b(?:they're|they are|they were|theyre|these people are|those people are) "
            r"(?:all|always) (?:the same|like this|like that|useless|clueless|idiots|clowns)\b",
            r"\btypical (?:procurement|finance|it|legal|exec|execs|c-suite|\w+ people|"
            r"enterprise|bureaucrats?|bean counters?|\w+ behaviou?r)\b",
            r"\bdrag(?:s|ging)? (?:everything|every \w+) out\b",
            r"\b(?:all|these|those) (?:cfo|ceo|procurement|finance|it|legal) (?:types|people|"
            r"guys|folks) (?:are|always|never)\b",
        ),
        Target.CUSTOMER,
    ),
)

# --- broader phrasings seen in reps' own words (dev split), written as general patterns ----

_NAME = r"(?:[a-z][\w&.-]*(?: [a-z][\w&.-]*){0,2})"
_CUST_SUBJ = r"(?:he|she|they|he's|she's|they're|him|her|them)"

_COMPETITOR_MORE = Rule(
    Trap.COMPETITOR_BIAS,
    _rx(
        r"\b[\w-]+ bias\b",
        r"\b(?:an? |the )?(?:ex-)?[\w-]+ (?:apologist|zealot|evangelist|loyalist|diehard|"
        r"die-hard|partisan|acolyte|disciple)s?\b",
        r"\b[\w-]+'s (?:best |unpaid |unofficial |favou?rite |top |own )?(?:sales ?(?:person|"
        r"rep|guy|woman)|rep|ae|mole|plant|inside (?:man|woman|guy)|affiliate|ambassador)\b",
        r"\b(?:unpaid|unofficial|free) (?:sales ?(?:person|rep)|rep|ae|affiliate)\b",
        r"\ban? [\w-]+ (?:affiliate|mole|plant|shill|puppet)\b",
        r"\b(?:in|on) [\w-]+'s (?:back )?pocket\b",
        r"\bin (?:their|the) back pocket\b",
        r"\b(?:drinking|drank|drunk) (?:their|the|[\w-]+'s) kool-?aid\b",
        r"\bbleeds? (?:their|[\w-]+) colou?rs\b",
        r"\bon team [\w-]+\b",
        r"\b(?:went|gone|go) (?:over )?to the dark side\b",
        r"\b[\w-]+ got to (?:him|her|them)\b",
        r"\bsleeping with the enemy\b",
        r"\b(?:obsessed|in love|infatuated) with [\w-]+\b",
        r"\b(?:rigged|stacked|wired) (?:for|toward|towards|in favou?r of) [\w-]+\b",
        r"\bcan't let go\b",
        r"\b(?:golfs|drinks|plays golf|is buddies|is friends) with (?:the )?[\w-]+ (?:rep|ae|"
        r"team|guys?|sales)\b",
        r"\bowes them a favou?r\b",
        r"\bangling for a job\b",
        r"\bcronyism\b",
        r"\bso much for an? (?:objective|fair|neutral|open|impartial) (?:eval|evaluation|"
        r"process|rfp|review)\b",
        r"\bfeeding (?:our|them) [\w ]{0,20}to [\w-]+\b",
        r"\btraitor\b",
        r"\b(?:ex|former)-?[\w-]+ (?:guy|person|woman|man|lifer|loyalist) (?:prefers|wants|"
        r"picks|pushes|likes)\b",
        r"\b[\w-]+ (?:guy|person|woman|man|lifer) through and through\b",
        r"\bbrought (?:his|her|their) [\w-]+ (?:buddies|friends|pals|cronies)\b",
        r"\b(?:looking|looks) for an excuse to (?:bring in|go with|pick|choose|switch to)\b",
        r"\bpushing [\w-]+ because\b",
    ),
    Target.CUSTOMER,
)

_HAPPINESS_MORE = Rule(
    Trap.CHASING_HAPPINESS,
    _rx(
        rf"\b(?:keep|keeping|keeps|want|need|get|getting) (?!(?:my|our|the) (?:team|manager|"
        rf"boss|family|wife|husband|kids)){_NAME}(?:'s [\w-]+)? (?:happy|happier|"
        r"smiling|thrilled|delighted|content|in a good mood|sweet|on side)\b",
        r"\bkeep 'em (?:happy|smiling|sweet)\b",
        r"\bhappy (?:customers?|clients?)(?: is a| are| =|,| is| means| equals)"
        r"(?: a| the)? (?:renew|renewing|renewals?|retention|happy renewal|repeat)",
        r"\bhappy (?:customer|client), happy (?:renewal|life|quota|me)\b",
        r"\bcustomer delight\b",
        r"\bsmiles? (?:back )?on (?:their )?faces\b",
        r"\bwalks? (?:out|away) happy\b",
        r"\bif [\w&' -]{2,30} (?:is|are) happy,? (?:i'm|i am|we're|we are|they) (?:happy|sign|"
        r"renew|stay)",
        r"\bif (?:they're|they are|he's|she's) happy,? (?:they|he|she|we) (?:sign|renew|stay)",
        r"\bmake [\w&' -]{2,30} love us\b",
        r"\bdon't upset\b",
        r"\bbend(?:ing)? over backwards\b",
        r"\bnever say no to (?:anything|them|him|her)\b",
        r"\b(?:whatever|anything) [\w&' -]{2,20} wants?,? (?:give it to|they get|goes)\b",
        r"\bgets? whatever (?:they|he|she) (?:ask|asks|want|wants)\b",
        r"\b(?:anything|whatever) (?:to keep|keeps|that keeps|it takes to keep)\b",
        r"\bexist to keep\b",
        r"\b(?:their|the) nps\b.*\b(?:keep|happy)\b",
        r"\bhappy (?:with us )?(?:by|before) the (?:exec review|renewal|qbr)\b",
        r"\bneeds? to be happy\b",
        r"\bhappy > \w+",
        r"\b(?:as long as|so long as) [\w&' -]{1,30}? (?:is|are|stays?|stay|feels?) "
        r"(?:happy|smiling|content|pleased)\b",
        r"\bhappy (?:customers?|clients?) (?:renew|stay|buy|sign)\b",
        r"\b(?:a )?happy (?:customer|client) is a (?:renewing|loyal|paying)\b",
    ),
    Target.BUILT_IN,
)

_WE_GOOD = (
    r"(?:we(?:'re| are) (?:still |actually |really |the |a |not just |more than |worth|good|"
    r"great|serious|premium|experts?|better)|what we(?:'re| are) worth|how (?:good|great|much "
    r"better|valuable) we are|our (?:worth|value)|what (?:they'd|they would) lose|how much "
    r"we(?:'ve| have) (?:done|delivered)|what we (?:do|did|deliver|delivered|bring) for them|"
    r"why they (?:went with|picked|chose|bought|signed with) us|what (?:they're|they are) "
    r"getting)"
)
_VALUE_MORE = Rule(
    Trap.CONVINCING_VALUE,
    _rx(
        rf"\b(?:so|until|to make sure|and) (?:they|he|she|[\w&'-]+) (?:can |finally |will |"
        rf"actually )?(?:see|sees|remember|remembers|realise|realize|realises|realizes|know|"
        rf"knows|appreciate|appreciates|admit|admits|get|gets|understand) {_WE_GOOD}",
        rf"\b(?:to|so they|need to|needs to|gotta|got to|have to|has to) (?:see|know|remember) "
        rf"{_WE_GOOD}",
        rf"\b(?:show|remind|tell|prove to|convince|showing|reminding) (?:them|him|her|"
        rf"[\w&'-]+(?: [\w&'-]+)?) (?:again )?(?:that )?{_WE_GOOD}",
        r"\bremind (?:them|him|her|[\w&'-]+(?: [\w&'-]+)?) (?:of )?(?:what|why|how|that we)\b",
        r"\b(?:a )?reminder of (?:why|what|how)\b",
        r"\bso (?:they|he|she) (?:stop doubting|don't forget|do not forget|never forget)\b",
        r"\b(?:prove|proving|justify|justifying) (?:ourselves|our existence|our place)\b",
        r"\b(?:keep|keeps|kept) proving\b",
        r"\bprove (?:once and for all|that we(?:'re| are)|we(?:'re| are))\b",
        r"\bre-?sell (?:them|him|her|[\w&'-]+) on (?:us|our)\b",
        r"\bre-?convinced?\b",
        r"\b(?:drown|bury|burying|drowning|shower|flood) (?:them|him|her) (?:in|with) value\b",
        r"\b(?:wow|impress|dazzle) [\w&'-]+ again\b",
        r"\blook how much we(?:'ve| have) done\b",
        r"\bso (?:they|he|she) (?:finally )?appreciate\b",
        r"\bwe(?:'re| are) not just some\b",
    ),
    Target.BUILT_IN,
)

_PERSON_INSULT_MORE = (
    r"(?:sadist|obstructionist|bureaucrat|snob|flake|shark and not the good kind|"
    r"cheapskates|vultures|pedants?|bully|liar|toddler|child|children|gatekeeper|"
    r"rubber stamp|empire builder|tyrant|cowboys|clowns|jerks|idiots|morons|weasels|"
    r"snakes|amateurs|dinosaurs|pushover|doormat|coward|zealot|nightmare human being|"
    r"piece of work|pain|brat|bean counter|penny pincher|micromanager|dictator|"
    r"megalomaniac|sociopath|psychopath|troll|prima donna|hypocrite|windbag|blowhard|"
    r"know-nothing|numpty|plonker|tosser|wanker|twat|clown|jerk|idiot|moron|weasel|snake|"
    r"muppet|joke|bully)"
)
_LABEL_MORE = Rule(
    Trap.LABELING,
    _rx(
        # "'s" only as "is" ("he's a muppet"), never as a possessive ("Pellworth's gatekeeper").
        rf"(?:\b(?:is|are|was|were)|'re|\b(?:he|she|who|that|it)'s|'s(?= (?:an?|such|the) )) "
        rf"(?:an? |such an? |the |a total |a complete |"
        rf"a real |an absolute )?(?:(?!not|never|no)[\w-]+ ){{0,3}}{_PERSON_INSULT_MORE}s?\b"
        r"(?! (?:in negotiations|at negotiating|negotiator|for detail|but fair))",
        rf"\b(?:a|an) (?:pack|bunch|gaggle|band|herd) of (?:[\w-]+ )?{_PERSON_INSULT_MORE}s?\b",
        rf"^(?:what an?|such an?) (?:[\w-]+ )?{_PERSON_INSULT_MORE}\b",
        r"\b(?:power[- ]tripping|entitled|spineless|gutless|two-faced|backstabbing|"
        r"back-stabbing|useless|clueless|incompetent|grumpy old|jumped-up)\b",
        r"\b(?:zero|no) spine\b",
        r"\blike (?:negotiating|dealing|talking|working) with an? (?:toddler|child|brick wall|"
        r"wall|robot|two-year-old|5-year-old|five-year-old)\b",
        rf"(?:^| )= (?:an? )?(?:[\w-]+ ){{0,2}}{_PERSON_INSULT_MORE}s?\b",
        r"\b(?:professional|serial|chronic) (?:fence-sitter|time-waster|tire-kicker|"
        r"tyre-kicker|staller|ditherer|flake)s?\b",
        r"\b(?:time[- ]wasters?|fence[- ]sitters?|tire[- ]kickers?|tyre[- ]kickers?)\b",
        r"^\*?(?:clueless|incompetent|useless|spineless|shady|sleazy|pathetic)\b",
        rf"^(?:total |absolute |complete |what an? |such an? )?{_PERSON_INSULT_MORE}s?$",
        r"\bis (?:so |such a |a |an )?(?:incompetent|clueless|useless|spineless|shady|sleazy|"
        r"slimy|arrogant|obnoxious|hopeless|pathetic|inept|dishonest|sneaky|shifty|lazy|"
        r"petty|greedy|entitled|slippery)\b",
        r"\b(?:are|'re) (?:so |such |all |a bunch of )?(?:incompetent|clueless|useless|"
        r"spineless|shady|sleazy|arrogant|hopeless|pathetic|inept|dishonest|lazy|petty|"
        r"greedy|entitled|slippery|cheap)\b",
        r"\bslippery\b",
    ),
    Target.CUSTOMER,
)

_BAD_OUTCOME = (
    r"(?:lost|lose|losing|missed|miss|missing|slipped|slipping|stuck|failed|fail|blew|blown|"
    r"pushed|dead|killed|tanked|behind|delayed|at risk|looked bad|looking bad|starting from "
    r"scratch|toast|eat the cost|blown the quarter|taking the heat)"
)
_CUST_FAILING = (
    r"(?:didn't|did not|wouldn't|would not|couldn't|can't|cannot|won't|never|barely|refused|"
    r"sat on|sitting on|sat|skipped|ignored|forgot|dropped|blew|botched|broke|messed|"
    r"dragged|changed|went dark|ghosted|oversold|stuck|killed|tanked|made us|let|"
    r"had to|has had|have had|took)"
)
_BLAME_MORE = Rule(
    Trap.BLAMING,
    _rx(
        rf"\b{_BAD_OUTCOME}\b.{{0,60}}\b(?:because|bc|cause|thanks to|since|as) (?:of )?"
        rf"(?!(?:we|i|our|my)\b)[\w&' -]{{1,40}}? {_CUST_FAILING}\b"
        r"(?![^.]{0,30}\b(?:until|till|before)\b)",
        r"\b(?:that's|that is|this is|it's|it is|all) on (?!(?:us|me|our|my|we)\b)"
        r"(?:them|him|her|[\w&'-]+(?: [\w&'-]+)?)"
        r"(?<!on me)(?<!on us)(?<!on our side)(?<!on my side)\b",
        r"\b(?:is|are) the (?:only )?reason (?:i'm|i am|we're|we are|i|we) (?:going to )?"
        r"(?:miss|missed|lose|lost|behind|not)\b",
        r"\bthe (?:whole |only )?reason (?:the|we|our|this|it) [\w ]{0,30}"
        r"(?:looked bad|failed|slipped|lost|died|stalled) is\b",
        r"\b(?:we'd|we would|i'd|i would|it would|we could) (?:have|'ve|be) [\w -]{0,25}\bif "
        r"(?!(?:we|i)\b)[\w&' -]{1,40}? (?:had|could|would|did|didn't|just|was|were|"
        r"sent|showed|read|gotten)\b",
        r"\bif [\w&' -]{1,40}? (?:had (?:just )?|could |would (?:just )?)[\w ]{1,40}?,? "
        r"(?:we'd|we would|i'd|i would) (?:have|'ve|be)\b",
        r"\b(?:made|make|makes|making) us (?:miss|lose|look bad|eat|slip|redo|wait)\b",
        r"\b(?:stuck|poked) (?:his|her|their) nose in\b",
        r"\bnot our (?:problem|fault)\b",
        r"\bnow (?:we're|we are|i'm|i am) the ones?\b",
        r"\b(?:killed|tanked|sank|sunk|blew up|torpedoed|derailed|wrecked|nuked|ruined) "
        r"(?:our|the|a|my|this) (?:[\w-]+ ){0,2}(?:deal|close|expansion|renewal|quarter|"
        r"month|business case|rollout|go-live|pilot|poc|timeline|number|forecast|q\d)\b",
        r"\b(?:blew|botched|broke|messed up|screwed up|bungled) (?:their own|the|our) "
        r"(?:[\w-]+ ){0,2}(?:timeline|integration|migration|rollout|user list|data|setup)\b",
        r"\bwhich is why (?:we're|we are|i'm|we)\b",
        r"\bthat's what killed\b",
        r"\bpointing at (?:us|our)\b",
    ),
    Target.CUSTOMER_OR_DEAL,
)

_MIND_MORE = Rule(
    Trap.MIND_READING,
    _rx(
        r"\b(?:doesn't|does not|don't|do not|didn't|could not|couldn't|can't) (?:actually |"
        r"really |even |genuinely )?(?:care|respect|trust|value|like|want (?:this|us|the "
        r"project|it|to (?:buy|change|switch|succeed))|rate|take us seriously|believe in)\b",
        r"\bcould(?:n't| not) care less\b",
        r"\b(?:thinks|think) (?:we're|we are|we|our|vendors)\b",
        r"\byou can (?:feel|tell|see) it\b",
        r"\b(?:phoning it in|checked out|bored of|bored with|sick of us|tired of us)\b",
        r"\binterviewing elsewhere\b",
        r"\bgets? a kick out of\b",
        r"\b(?:embarrassed|ashamed|scared|afraid|terrified|threatened|jealous|insecure|"
        r"paranoid) (?:they|he|she|of|by|that|to)\b",
        r"\bfeels? threatened\b",
        r"\b(?:hoping|hopes|wants|praying) (?:we|that we|us to) (?:give up|go away|fail|"
        r"quit|drop|walk)\b",
        r"\bsecretly\b",
        r"\bhumou?ring us\b",
        r"\b(?:made|make|makes) up (?:his|her|their) minds?\b",
        r"\b(?:his|her|their) minds? (?:is |are )?(?:made up|already made)\b",
        r"\bhas (?:his|her|their) mind made up\b",
        r"\b(?:whole|real|hidden|secret|own) agenda\b",
        r"\b(?:tick|check) (?:a|the) (?:compliance |procurement )?box\b",
        r"\bthe winner was (?:picked|chosen|decided)\b",
        r"\bcovering (?:himself|herself|themselves)\b",
        r"\bkeeping (?:the incumbent|[\w-]+) warm\b",
        r"\b(?:negotiating|bargaining) chip\b",
        r"\bmake (?:his|her|their) mark\b",
        r"\b(?:slow-walking|sandbagging|stalling|dragging [\w ]{0,20}out|blocking us|ghosting|"
        r"hedging|squeezing us|squeezed us) [\w ]{0,25}\b(?:so|because|to|until|just to|"
        r"purely|for sport|hoping)\b",
        r"\bto look (?:smart|busy|good|important|tough|clever|like a hero|in control)\b",
        r"\blooks? like a hero\b",
        r"\bin front of (?:his|her|their) (?:boss|board|ceo|team|peers)\b",
        r"\bresents?\b",
        r"\bit's personal\b",
        r"\bout of spite\b",
        r"\bfor sport\b",
        r"\bjust to (?:prove a point|spite|annoy|punish|make us|show)\b",
        r"\bknew exactly what (?:he|she|they) (?:was|were) doing\b",
        r"\bgoing through the motions\b",
        r"\b(?:only|just) (?:wants?|after|in (?:this|it)|here|took|using|keeping|asking|"
        r"running|doing) [\w ]{0,40}\b(?:for|to|so|because)\b",
        r"\bthe only reason\b",
        r"\b(?:line on (?:his|her) (?:resume|cv)|resume builder|résumé)\b",
        r"\b(?:beat up|beat down|leverage against) (?:their|the) (?:incumbent|current vendor)\b",
        r"\bfree (?:spec sheet|benchmark|education|training|rfp help)\b",
        r"\bwants? to rip out\b",
        r"\bwasn't (?:his|her|their) idea\b",
        r"\b(?:because|bc|cos|cuz) (?:he|she|they)(?:'s|'re| is| are)? (?:scared|afraid|"
        r"embarrassed|bored|lazy|jealous|threatened|insecure|hoping|wants?|didn't get|"
        r"doesn't want|owes)\b",
        r"\bso (?:he|she|they) (?:has|have|can|looks?|gets?) (?:a|an|the|to|like|credit)\b",
        r"\bto (?:slow us down|stall us|waste our time|string us along|squeeze us|"
        r"wear us down|get a better price)\b",
        r"\bmaking us pay for it\b",
        r"\bwe're (?:just )?(?:an? |the )?easy target\b",
        r"\bnothing else matters to (?:him|her|them)\b",
        r"\bwants our logo\b",
        r"\bi'd bet my\b",
    ),
    Target.CUSTOMER,
)

_FORTUNE_MORE = Rule(
    Trap.FORTUNE_TELLING,
    _rx(
        r"\b(?:will|'ll|is going to|are going to|'s going to|gonna|going to) (?:\w+ )?(?:churn|"
        r"walk|ghost|bail|die|fail|flop|tank|be a disaster|go nowhere|say no|drop us|dump us|"
        r"award it to|pick whoever|kill it|quietly die|end badly|never)\b",
        r"\b(?:isn't|is not|aren't|are not|ain't) (?:ever )?(?:going to|gonna) (?:close|sign|"
        r"buy|renew|happen|work|move|change|expand)\b",
        r"\bis never (?:making|going|signing|buying|closing|renewing|switching|expanding)\b",
        r"\b(?:they're|they are|he's|she's|we're) never (?:switching|expanding|buying|signing|"
        r"closing|renewing|moving|changing|converting|getting)\b",
        r"\bno matter (?:what|how)\b",
        r"\b(?:doesn't|does not|won't|will not|wouldn't) (?:matter|change a thing|make a "
        r"difference|move the needle|move it)\b",
        r"\bnothing (?:we|i) (?:say|do|send|show|try) [\w ]{0,15}(?:will|is going to|would) "
        r"(?:move|change|matter|help|work)\b",
        r"\bstill (?:wouldn't|won't|would not|will not) (?:buy|sign|renew|move|care|budge)\b",
        r"\bno version of this where\b",
        r"\bstick a fork in\b",
        r"\b(?:it's|is) (?:just )?a formality\b",
        r"\b(?:they're|they are|it's|he's|she's) (?:already )?gone\b",
        r"\b(?:is|are|'s) (?:cooked|toast|doomed|finished|over)\b",
        r"\b(?:deal|renewal|opp|opportunity|account|it|this|that one|this one)(?:'s| is) gone\b",
        r"\bstop pretending\b",
        r"\bcan't wait to learn nothing\b",
        r"\b(?:why|not sure why) (?:do )?(?:i|we) (?:even |still )?(?:bother|try|go)\b",
        r"\b(?:why are we still|why do we still|why am i still)\b",
        r"\bnot (?:even )?(?:going to|gonna) bother\b",
        r"\bsave your (?:energy|breath|time)\b",
        r"\bin (?:our|my) lifetime\b",
        r"\bstraight (?:in|into) the (?:bin|trash|shredder)\b",
        r"\bguaranteed\b(?! (?:uptime|delivery|sla|response|minimum|pricing|price))",
        r"\bi can (?:feel|tell|see) it\b",
        r"\b(?:watch|mark my words|calling it now|you'll see|bet on it)$",
        r"\b(?:there's|there is) no way\b",
        r"\bzero chance\b(?! (?:i|i'm|im|i'll|i am|i will|my)\b)",
        r"\bforget (?:it|about it)\b",
        r"\bwe're out\b",
        r"\bclosed-?lost in my head\b",
        r"\b(?:a|is a) (?:waste|write-?off|lost cause)\b",
        r"\bwon't (?:renew|sign|buy|move|expand|convert|budge|close|engage|happen)\b"
        r"(?! (?:until|before|till|unless|without|by|this|next|in|on|at|yet))",
        r"\bwouldn't (?:buy|sign|renew)\b",
        r"\bjust busywork\b|\bbusywork\b",
        r"\bno (?:point|use) (?:in )?(?:going|pitching|trying|sending|calling|chasing|"
        r"following|bothering|showing|doing)\b",
        r"\bnot (?:going to|gonna) close\b",
        r"\b(?:is|are) (?:pointless|theatre|theater|pure theatre|pure theater|a charade|"
        r"a sham|for show)\b",
    ),
    Target.CUSTOMER_OR_DEAL,
)

_OVERGEN_MORE = Rule(
    Trap.OVERGENERALIZING,
    _rx(
        r"\b(?:always|constantly|forever) (?!(?:pays?|paid|delivers?|responds? (?:fast|"
        r"quickly)|comes? prepared|been (?:great|good|fair|helpful)|helpful|on time|fair|"
        r"great|kind|good|a pleasure|super|honest|straight|upfront|transparent|clear|"
        r"prepared|professional|responsive|reasonable|gracious|generous|"
        r"tells? (?:you|us|me) (?:exactly|straight|honestly|the truth|where)|"
        r"keeps? (?:his|her|their) word|follows? through|has our back|have our back)\b)"
        r"[\w']+\b",
        r"\bnever (?!(?:complains?|miss(?:es)? a|disappoints?|lets? us down|fails?|once "
        r"missed|late)\b)(?:bother|tells?|shows?|reads?|gives?|pays?|answers?|replies?|"
        r"responds?|logs?|joins?|decides?|owns?|commits?|follows?|returns?|gets?|sends?|"
        r"buys?|closes?|has|have|had|does|do|did|says?|moves?|signs?|takes?|listens?|"
        r"calls?|picks?|makes?|keeps?)\b",
        r"\bevery (?:single|last) (?:one|time|call|meeting|clause|email|line|thing|request|"
        r"round|step|piece|renewal|quarter|person)\b",
        r"\bevery\.? single\.? time\b",
        r"\bwithout fail\b",
        r"\b(?:nobody|no one|no-one|everyone|everybody|not one person|all of them) "
        r"(?:at|over at|over there|there|on the [\w -]{1,20}side|on (?:their|that) "
        r"(?:side|team)|in (?:their|that) [\w-]+)\b",
        r"\b(?:like|as) (?:they|he|she) (?:do|does|did) with (?:everything|everyone|every)\b",
        r"\b(?:literally |just about )?everything$",
        r"\bnot once in\b",
        r"(?:^|[,:] )(?:ever|always|every one|none)$",
        r"\b(?:every|each) (?:vendor|exec|buyer|stakeholder|time|person) (?:over there|there)\b",
        r"\b(?:they|he|she) (?:always|never) (?:do|does|have|has|did)$",
        r"\b(?:just like|like) every (?:\w+ )?(?:over there|there|else)\b",
        r"\b(?:cancels?|questions?|redlines?|sits? on|pushes back on|asks?|reschedules?|"
        r"adds?|changes?|delays?|ignores?|misses?|skips?|blocks?|rejects?|nitpicks?|"
        r"fights?|late on|treats?) (?:[\w-]+ ){0,4}every (?:\w+ ){0,2}(?:we|piece|"
        r"invoice|clause|line|number|qbr|call|meeting|renewal|cycle|proposal|request|"
        r"email|time|vendor|item|deadline)\b",
        r"\bevery last one\b",
        r"\b(?:all|everyone) (?:say|says|do|does|want|wants) the same\b",
    ),
    Target.CUSTOMER,
)

# --- more general phrasings: common ways reps voice each trap --------------------------------

_GENERAL_RULES: tuple[Rule, ...] = (
    Rule(
        Trap.COMPETITOR_BIAS,
        _rx(
            r"\b(?:is|'s|are|'re|was) (?:so |totally |completely |clearly |obviously |just |"
            r"hopelessly )?biased\b",
            r"\b(?:still |so )?loyal to (?:his|her|their) (?:old|former|last|previous) "
            r"(?:employer|company|vendor|tool|stack|job|gig)\b",
            r"\bin (?:the )?(?:pocket|pay) of\b",
            r"\b(?:favou?rs?|prefers?|pushing|pushes|wants?) [\w-]+ because (?:he|she|they) "
            r"(?:used to|worked|came|knows? (?:the|their) (?:rep|people|guys))\b",
            r"\b(?:already|secretly) (?:sold on|committed to|in love with) [\w-]+\b",
            r"\bwon't even (?:look at|consider|read|entertain) (?:us|our|anyone (?:but|except))\b",
        ),
        Target.CUSTOMER,
    ),
    Rule(
        Trap.CHASING_HAPPINESS,
        _rx(
            r"\bsay(?:ing)? yes to (?:everything|anything|whatever (?:they|he|she))\b",
            r"\bgive (?:them|him|her|[\w&'-]+) (?:whatever|anything|everything) (?:they|he|she)"
            r" (?:want|wants|ask|asks)\b",
            r"\b(?:their |customer |client )?(?:happiness|satisfaction|mood|smiles?) (?:is|=|are)"
            r" (?:the|my|our|all|what) (?:goal|priority|job|kpi|metric|that matters|matters)\b",
            r"\b(?:make|making) sure (?:they're|they are|he's|she's|everyone is|[\w&'-]+ (?:is|"
            r"are|stays?)) (?:happy|smiling|content|pleased)\b",
            r"\bkeep(?:ing)? the peace\b",
            r"\bkeep (?:them|him|her|[\w&'-]+) (?:sweet|on side|onside|from complaining)\b",
        ),
        Target.BUILT_IN,
    ),
    Rule(
        Trap.CONVINCING_VALUE,
        _rx(
            r"\b(?:show|remind|prove to) (?:them|him|her|[\w&'-]+) (?:what (?:they're|they are|"
            r"they'd be) (?:missing|losing|getting)|our value|the value we)\b",
            r"\b(?:re-?earn|earn back|win back|re-?win) (?:their|his|her) (?:trust|business|"
            r"love|confidence|faith)\b",
            r"\bjustify (?:the|our|their) (?:spend|renewal|price|contract|investment|cost)\b",
            r"\bworth every (?:penny|cent|dollar)\b",
            r"\bso (?:they|he|she) (?:don't|won't|never) forget (?:about )?us\b",
            r"\b(?:another|one more|a fresh|a new) (?:value|roi|impact|success) (?:review|story|"
            r"deck|report|presentation|showcase|summary)\b.*\b(?:remind|prove|show|convince|"
            r"so they|until they)\b",
            r"\bprove (?:it|ourselves|our worth) (?:to (?:them|him|her) )?again\b",
            r"\b(?:win|won) (?:them|him|her) over again\b",
        ),
        Target.BUILT_IN,
    ),
    Rule(
        Trap.BLAMING,
        _rx(
            r"\b(?:because of|thanks to|due to) (?:their|his|her|[\w&'-]+'s) (?:garbage|useless|"
            r"broken|terrible|awful|incompetent|clueless|pathetic|ridiculous|insane|lazy|slow)\b",
            r"\b(?:dragged|dragging|drags) (?:this|it|things|everything) out\b.{0,40}\b(?:we|i) "
            r"(?:lost|missed|blew|slipped)\b",
            r"\bif [\w&' -]{1,30}? had (?:just )?(?:done|did) (?:his|her|their|its) "
            r"(?:job|part|homework)\b",
            r"\b(?:all|entirely|completely) (?:their|his|her) (?:doing|fault|mess)\b",
            r"\b(?:they|he|she) (?:cost|lost|blew) (?:us|me) (?:the|this|my|our)\b",
            r"\b(?:they|he|she|[\w&'-]+) (?:screwed|messed|stuffed|fouled) (?:us|this|it) up\b",
            r"\b(?:left|hung) (?:us|me) out to dry\b",
            r"\bthrew (?:us|me) under the bus\b",
        ),
        Target.CUSTOMER_OR_DEAL,
    ),
    Rule(
        Trap.MIND_READING,
        _rx(
            r"\bprotecting (?:his|her|their) (?:own )?(?:little |precious |tiny )?(?:turf|"
            r"kingdom|empire|fiefdom|patch|job|budget|team)\b",
            r"\b(?:is|'s|are|'re) (?:just )?(?:waiting|hoping|praying) (?:for|until|that) "
            r"[\w ]{1,30}\bso\b",
            r"\bso (?:the|his|her|their) [\w ]{1,25}(?:hits|lands|goes|looks|counts)\b",
            r"\bso (?:he|she|they) (?:looks?|look|can look|gets?|get) (?:good|better|credit|"
            r"the credit|like)\b",
            r"\bwants? us to (?:fail|lose|go away|give up|walk)\b",
            r"\bdoesn't (?:want|like) (?:us|vendors|outsiders|change) (?:around|here|in)\b",
            r"\b(?:has|had) no (?:real )?intention of\b",
            r"\b(?:they're|they are|he's|she's|they) (?:just |only )?(?:wasting our time|"
            r"stringing us along|playing games|using us)\b",
            r"\bdon't (?:actually |really )?(?:want|need) us\b",
            r"\bthreat to (?:him|her|them)\b",
        ),
        Target.CUSTOMER,
    ),
    Rule(
        Trap.FORTUNE_TELLING,
        _rx(
            r"\b(?:no|zero|not a|fat) (?:shot|hope|prayer|chance)\b"
            r"(?! (?:i|i'm|im|i'll|i am|i will|my)\b)",
            r"\bsnowball's chance\b",
            r"\b(?:we're|we are|i'm|i am) (?:just )?wasting (?:our|my) time\b",
            r"\bpipe ?dream\b",
            r"\b(?:is|it's|this is) (?:going|headed) nowhere\b",
            r"\b(?:it's|this is|the deal is|it is) (?:over|hopeless|a lost cause)\b",
            r"\bgame over\b",
            r"\b(?:can't|cannot|don't) see (?:this|them|it|him|her|the deal|[\w&'-]+) "
            r"(?:ever )?(?:closing|signing|renewing|happening|buying|going anywhere)\b",
            r"\bnever (?:gonna|going to) (?:happen|close|sign|work)\b",
            r"\bnot worth (?:chasing|pursuing|the effort|the time|it)\b",
        ),
        Target.CUSTOMER_OR_DEAL,
    ),
    Rule(
        Trap.OVERGENERALIZING,
        _rx(
            r"^every (?:single )?time (?:we|i|they|he|she)\b",
            r"\b(?:like|as) (?:she|he|they) (?:does|do|did) (?:on|in|with|at) every\b",
            r"\b(?:that's|that is|which is) what [\w&' -]{1,30}? always (?:does|do)\b",
            r"\b(?:they|he|she) do (?:it|this|that) every (?:time|cycle|quarter|call|renewal|"
            r"year|round)\b",
            r"\b(?:says?|does|pulls?) (?:this|that|the same) (?:on|in|at) every (?:call|"
            r"meeting|review|qbr|renewal)\b",
            r"\bevery (?:other )?(?:call|meeting|renewal|cycle|qbr|quarter|email|round|step) "
            r"(?:with (?:them|him|her|[\w&'-]+) )?(?:turns into|becomes|ends|starts|"
            r"goes)\b",
            r"\b(?:they|he|she)(?:'re| are|'s| is) (?:always|never|constantly|forever) "
            r"(?!(?:great|good|helpful|fair|kind|prepared|on time|responsive|quick|fast|"
            r"supportive|a pleasure)\b)[\w-]+\b",
        ),
        Target.CUSTOMER,
    ),
)

# --- broader families: synonyms, slang and syntax other reps use for the same traps ---------
#
# Each alternative is a family (a verb or noun slot filled from a word list), not a sentence.

_HAPPY_STATE = (
    r"(?:happy|happier|smiling|thrilled|delighted|content|contented|pleased|satisfied|sweet|"
    r"comfy|comfortable|cheerful|chuffed|pampered|in a good mood|warm and fuzzy|a happy camper|"
    r"happy campers|on side|onside)"
)
_LEAN_NOUN = r"(?:goggles|blinkers|blinders|glasses|tinted glasses|tinted specs|specs)"
_SCORING = (
    r"(?:scorecard|scoring|criteria|requirements|rfp|eval|evaluation|shortlist|weighting|"
    r"spec|specs|process|bake-?off)"
)
_BROAD_COMPETITOR = Rule(
    Trap.COMPETITOR_BIAS,
    _rx(
        rf"\b[\w-]+ {_LEAN_NOUN} on\b",
        rf"\b(?:wears?|wearing|has|have|got) (?:his|her|their|the|those) [\w-]+ {_LEAN_NOUN}\b",
        r"\b(?:blinkered|blinded) by (?:it|them|that|[\w-]+)\b",
        r"\bcarr(?:y|ies|ying) water for\b",
        r"\bdoing [\w-]+'s (?:bidding|dirty work)\b",
        r"\b[\w-]+ (?:errand boy|lackey|poster boy|poster child)\b",
        rf"\b(?:rigging|rigged|stacking|stacked|tilting|tilted|skewing|skewed|weighting|"
        rf"weighted|writing|wrote|written|tailoring|tailored) (?:the |their |its |this )?"
        rf"{_SCORING}s? (?:for|toward|towards|in favou?r of|around)\b",
        rf"\b{_SCORING}s? (?:was |were |is |are )?(?:written|designed|tailored|built) "
        r"(?:for|around) [\w-]+\b",
        r"\bfan ?club\b",
        r"\b(?:has|have|got) (?:a )?(?:soft spot|weakness|thing) for\b",
        r"\b(?:cosy|cozy|chummy|pally|thick as thieves|in cahoots)(?: \w+){0,2} with\b",
        r"\b(?:he's|she's|he is|she is|they're) [\w-]+'s (?:guy|man|woman|girl|boy|person|"
        r"people)\b",
        r"\bsteer(?:s|ing)? (?:this|it|the deal|things|the decision) (?:their|[\w-]+'s) way\b",
        r"\b[\w-]+ tattoo(?:ed)? on (?:his|her|their) (?:heart|arm|forehead)\b",
        r"\bit's (?:all|the only thing) (?:he|she|they) (?:knows?|used)\b",
        r"\b(?:an? )?[\w-]+ lifer\b",
    ),
    Target.CUSTOMER,
)

_BROAD_HAPPINESS = Rule(
    Trap.CHASING_HAPPINESS,
    _rx(
        rf"\b(?:keep|keeps|keeping|kept|make|making|get|getting|leave|leaving|need|needs) "
        rf"(?!(?:my|our) (?:team|manager|boss|family|wife|husband|kids|se)\b)"
        rf"{_NAME}(?:'s [\w-]+(?: [\w-]+)?)? (?:feeling |to feel |to be |to stay )?{_HAPPY_STATE}",
        rf"\b(?:make|making|made) sure {_NAME}(?:'s [\w-]+(?: [\w-]+)?)? (?:is|are|stays?|feels?) "
        rf"(?:an? )?{_HAPPY_STATE}",
        rf"\b(?:as long as|so long as) [\w&' -]{{1,30}}? (?:is|are|stays?|stay|feels?) "
        rf"{_HAPPY_STATE}",
        rf"\b(?:stays?|staying|remains?) {_HAPPY_STATE} with us\b",
        r"\b(?:kpi|metric|north star|scorecard|measure of success|goal|job|priority|aim|focus)\b"
        r"[^.]{0,40}\bhow (?:happy|content|pleased|delighted|satisfied|thrilled)\b",
        r"\b(?:happy|contented?|delighted|satisfied|smiling) (?:customers?|clients?) ?(?:=|means|"
        r"equals|is an?|are|don't|dont|do not|never|won't|stay|renew)\b",
        r"\bzero unhappy (?:stakeholders|customers|clients|people)\b",
        r"\bnobody at [\w&' -]{1,30}? is unhappy\b",
        r"\b(?:aim|goal|job|priority|plan|kpi|mission)\b[^.]{0,30}\b(?:a |an )?(?:delighted|happy|"
        r"thrilled|smiling|contented?) (?:customer|client)s?\b",
    ),
    Target.BUILT_IN,
)

_US_WORTH = (
    r"(?:appreciates? us|values? us|rates? us|respects? us|trusts? us again|"
    r"(?:that )?we(?:'re| are| were) (?:worth|good|great|the best|the right|still|better|"
    r"valuable|top)|(?:that )?we (?:earn|deserve|are worth)|how (?:good|great|valuable|much "
    r"better|much) we|why (?:they|he|she) (?:chose|picked|signed|bought|went with)|"
    r"what (?:they'd|they would|they're|they are) (?:lose|losing|missing|getting))"
)
_BROAD_VALUE = Rule(
    Trap.CONVINCING_VALUE,
    _rx(
        rf"\b(?:so|until|till|and|to make sure|so that) "
        rf"(?:they|he|she|(?:their |the )?[\w&'-]+(?:'s [\w-]+)?) "
        rf"(?:can |will |finally |actually |might |would |can finally |has to |have to )?"
        rf"(?:see|sees|admit|admits|realise|realises|realize|realizes|remember|remembers|"
        rf"know|knows|get|gets|understand|understands)? ?{_US_WORTH}",
        r"\bso (?:they|he|she) stop (?:thinking|believing|saying) (?:that )?we(?:'re| are)\b",
        r"\b(?:so|and) (?:they|he|she) (?:can't|cannot|won't|will never|never|stop) "
        r"(?:doubt|doubting|question|questioning) us\b",
        r"\bforgotten how (?:good|great|valuable|much)\b",
        r"\b(?:value|roi|impact|tco|savings|benefits|success|wins) (?:review|recap|report|study|"
        r"deck|workshop|dashboard|model|session|pack|story|summary|analysis|deep dive|calc)s? "
        r"(?:\w+ ){0,3}(?:to|so|and) (?:win (?:them|him|her|[\w&'-]+) back|remind|prove|"
        r"justify|convince|re-?convince)\b",
        r"\b(?:re-?sell|re-?pitch|justify|prove)(?:ing)? ourselves\b",
        r"\bprove[- ]ourselves\b",
        r"\bneeds? (?:reminding|a reminder|to be reminded)\b",
        r"\b(?:more |extra |another )?proof (?:points? )?(?:that )?we (?:deserve|earn|are worth|"
        r"'re worth)\b",
        r"\bmore proof points\b",
        r"\bchange (?:his|her|their) minds? about us\b",
        r"\b(?:drown|bury|burying|drowning|shower|showering|flood|flooding) [\w&'-]+ (?:in|with) "
        r"(?:value|proof|case studies|roi)\b",
        r"\bjustify (?:ourselves|our (?:fee|spend|cost|price|invoice|existence))\b",
    ),
    Target.BUILT_IN,
)

_BROAD_INSULT_ADJ = (
    r"(?:pedantic|penny-pinching|tight-fisted|tightfisted|miserable|grumpy|flaky|spineless|"
    r"jumped-up|power-tripping|small-minded|narrow-minded|pig-headed|bone-headed|"
    r"thick-headed|pompous|smug|bumbling|hapless|feckless|gormless|dozy|dim|daft|clueless|"
    r"useless|lazy|incompetent|arrogant|hopeless|two-faced|slimy|shady|sleazy)"
)
_BROAD_INSULT_NOUN = (
    r"(?:scrooge|grumps?|nightmare|pedant|jobsworth|yes-man|clowns?|muppets?|numpties|"
    r"cowboys?|amateurs?|dinosaurs?|idiots?|vultures?|bullies|bully|tyrants?|"
    r"weasels?|snakes?|flakes?|know-it-alls?|control freaks?|egomaniacs?|bureaucrats?|"
    r"joke of an? \w+|waste of space|piece of work)"
)
_BROAD_LABEL = Rule(
    Trap.LABELING,
    _rx(
        rf"\b(?:is|are|was|were|'re|(?:he|she|who|that)'s) (?:an? |such an? |the |so |"
        rf"totally |completely |absolutely |utterly |basically |just |a total |a complete |"
        rf"an absolute |a real |the most )?(?:(?!not\b|never\b|no\b)[\w-]+ )?{_BROAD_INSULT_ADJ}\b"
        r"(?! (?:about|with|at|to|on|for|as)\b)",
        rf"\b(?:is|are|was|were|'re|(?:he|she|who|that)'s) (?:an? |such an? |the |a total |"
        rf"a complete |an absolute |a real |a bunch of |a pack of |just )?"
        rf"(?:(?!not\b|never\b|no\b)[\w-]+ ){{0,2}}"
        rf"{_BROAD_INSULT_NOUN}\b",
        r"\b(?:too|so) (?:lazy|stupid|dumb|cheap|arrogant|proud|stubborn|clueless|"
        r"incompetent|dim|thick|spineless) to\b",
        r"\b(?:flaky|useless|clueless|hopeless|hopless) as (?:hell|anything|ever|they come)\b",
        r"\bwhat a joke of an?\b",
    ),
    Target.CUSTOMER,
)

_CUST_NEGLECT = (
    r"(?:couldn't be bothered|can't be bothered|could not be bothered|didn't bother|"
    r"never bothered|is asleep|was asleep|are asleep|asleep at the wheel|lost|refused|"
    r"failed to|forgot|sat on|sitting on|sits on|kept|keeps|changed|changing|went (?:on "
    r"holiday|on leave|dark|awol|quiet|silent) without|went dark|ghosted|can't read|"
    r"couldn't read|cannot read|messed|screwed|botched|bungled|broke|tanked|blew|dropped|"
    r"ignored|skipped|never (?:sent|showed|read|replied|logged|staffed|gave)|"
    r"(?:is|was|are|were) (?:too slow|useless|clueless|dragging|stalling|running out the "
    r"clock))"
)
_BROAD_BAD = (
    r"(?:lost|lose|losing|missed|miss|missing|slipped|slid|slipping|sliding|stuck|stalled|"
    r"failed|behind|delayed|late|dead|toast|at risk|blew|blown)"
)
_OUR_SIDE_WORD = (
    r"(?:we|i|our|my|us|legal|ops|product|engineering|support|marketing|finance|deal desk|"
    r"the se|the sdr|the crm|cpq)"
)
_BROAD_BLAME = Rule(
    Trap.BLAMING,
    _rx(
        rf"\b{_BROAD_BAD}\b.{{0,60}}\b(?:because|bc|cos|coz|cuz|'cause|thanks to|since) "
        rf"(?!{_OUR_SIDE_WORD}\b)[\w&' -]{{1,40}}? {_CUST_NEGLECT}",
        rf"\b(?:thanks to|because of|due to|all because) (?!{_OUR_SIDE_WORD}\b)[\w&' -]{{1,40}}?"
        rf" (?:sitting on|sat on|dragging|ignoring|losing|refusing|forgetting|changing|"
        rf"ghosting|botching|blocking)\b.{{0,60}}\b{_BROAD_BAD}",
        r"\bblame (?:their|the (?:customer|client|buyer)|[\w&'-]+'s|them|him|her)(?: [\w-]+)? "
        r"for\b",
        r"\b(?:killed|tanked|sank|sunk|blew up|torpedoed|derailed|wrecked|nuked|ruined|"
        r"sabotaged|screwed up|messed up|botched|broke) (?:our|the|a|my|this|their own|its own)"
        r" (?:[\w-]+ ){0,2}(?:pricing|implementation|integration|integration test|test|"
        r"project|plan|budget|schedule|launch|migration|poc|pilot|sandbox|go-live|deal|"
        r"timeline|rollout)\b",
        r"\b(?:is|are|was|were) the (?:only |whole |real |main )?reason (?:why )?(?:this|that|"
        r"the|our|my|it|we|i)\b[\w ']{0,30}\b(?:dead|lost|slipped|stalled|behind|miss|late|"
        r"failed|stuck|died|toast|slid|at risk)\b",
        r"\b(?:and|so) now (?:we're|we are|i'm|i am|we) (?:\w+ )?(?:behind|late|stuck|screwed|"
        r"missing|slipping|toast|at risk|blocked|paying|eating)\b",
        r"\b(?:is|'s|was) (?:all |entirely |100% |squarely |totally )?on (?:their|[\w&-]+'s)"
        rf"(?: [\w-]+){{0,2}} {_ROLE}\b",
        r"\bblamed us\b",
        r"\b(?:dropped|drops|dropping) the ball\b",
    ),
    Target.CUSTOMER_OR_DEAL,
)
# A counterfactual names its culprit itself: "we'd be live if Copperleaf had sent the specs".
_BROAD_BLAME_COUNTERFACTUAL = Rule(
    Trap.BLAMING,
    _rx(
        rf"\b(?:we'd|we would|we wouldn't|we would not|i'd|i wouldn't|it would|we could) "
        rf"(?:have|'ve|be)\b[\w %-]{{0,30}}\bif (?!{_OUR_SIDE_WORD}\b)[\w&' -]{{1,40}}? "
        r"(?:had|could|would|did|didn't|just|was|were|sent|showed|read|gotten)\b",
        rf"\bif (?!{_OUR_SIDE_WORD}\b)[\w&' -]{{1,40}}? (?:had (?:just |even )?|could |would "
        r"(?:just )?)[\w ]{1,50}?,? (?:we'd|we would|we wouldn't|we would not|i'd|i would|"
        r"i wouldn't) (?:have|'ve|be)\b",
    ),
    Target.BUILT_IN,
)

_MIND_PURPOSE = (
    r"(?:benchmark|beat|bash|squeeze|leverage|compare|price[- ]check|get a (?:better|lower) "
    r"price|tick|check a box|pad|look (?:busy|good|smart)|cover|keep (?:the|their|his|her)|"
    r"stall|slow|waste|string|drive|push|force|play|shop|satisfy|appease|keep [\w-]+ honest)"
)
_BROAD_MIND = Rule(
    Trap.MIND_READING,
    _rx(
        rf"\b(?:only|just|purely|simply) (?:\w+ing|took|takes|wants?|asked|asks|here|in it) "
        rf"[\w ']{{0,40}}\b(?:to|so (?:they|he|she) can) {_MIND_PURPOSE}",
        r"\busing (?:us|our (?:proposal|quote|pricing|numbers|bid|demo|deck|poc|pilot|"
        r"references?)) (?:to|as|for)\b",
        r"\bto (?:beat|bash|knock|drive|push|grind) (?:[\w-]+ ){0,3}down\b",
        r"\b(?:enjoy|enjoys|enjoying|loves?|loving|likes?) (?:watching |making |seeing )?"
        r"(?:us|vendors|salespeople|reps|people|suppliers) (?:squirm|sweat|suffer|grovel|beg|"
        r"jump through)\b",
        r"\b(?:scared|afraid|terrified|worried|nervous) (?:we'll|we will|we're|we|our|us)\b",
        r"\b(?:protect|protects|guard|guards|defend|defends|cover|covers) (?:his|her|their) "
        r"(?:own )?(?:ass|arse|butt|backside|back|bases|turf|patch|kingdom|empire)\b",
        r"\bplaying for time\b",
        r"\b(?:no|zero|not any) (?:real )?(?:intent|intention|plans?|interest) (?:to|of|in) "
        r"(?:buy|buying|sign|signing|switch|switching|move|moving|change|changing|purchase|"
        r"purchasing)\b",
        r"\b(?:don't|doesn't|do not|does not) (?:believe|think|trust) (?:that )?we(?:'re| are) "
        r"(?:good enough|worth|any good|the right)\b",
    ),
    Target.CUSTOMER,
)
# "we're only there to drive the price down": the customer's motive, in our own words.
_BROAD_MIND_US = Rule(
    Trap.MIND_READING,
    _rx(
        r"\b(?:we're|we are|we were|we) (?:only|just|merely|purely) (?:there|here|in (?:it|this|"
        r"the mix|the running)|invited|on the (?:list|shortlist)|at the table|being used) "
        r"(?:to|for|as|so)\b",
        r"\b(?:we're|we are) (?:just |only )?(?:the |a |their )?(?:stalking horse|price check|"
        r"backup|plan b|leverage|third quote|benchmark)\b",
    ),
    Target.BUILT_IN,
)

_BROAD_FORTUNE = Rule(
    Trap.FORTUNE_TELLING,
    _rx(
        r"\b(?:ship|boat|train) (?:has|'s) (?:sailed|left)\b",
        r"\b(?:flogging|beating|whipping) a dead horse\b",
        r"\bgive it (?:a|an|one|two|three|\d+) (?:week|month|day|quarter)s? (?:before|until|"
        r"till|tops)\b",
        r"\bin a (?:million|thousand|hundred) years\b",
        r"\b(?:we're|we are|i'm|i am) (?:never|not) (?:getting|winning|closing|landing|"
        r"signing) (?:this|that|it|them)\b",
        r"\b(?:goes|go|went|lead|leads|led|leading|get|gets|got|going) (?:absolutely |precisely |"
        r"exactly )?nowhere\b",
        r"\bnever (?:lead|leads|go|goes|get|gets|went|led) anywhere\b",
        r"\b(?:total |complete |utter |massive |a )?waste of (?:a |an |my |our |the |everyone's "
        r"|everybody's )?(?:\w+ )?(?:day|afternoon|morning|week|monday|tuesday|wednesday|"
        r"thursday|friday|flight|trip|meeting|call|demo)\b",
        r"\b(?:will|'ll|gonna|going to)\b[\w ]{0,40}\b(?:and )?(?:still|then) (?:say no|pick|"
        r"go with|choose|walk|not buy|not sign|ghost)\b",
        r"\b(?:quietly|slowly) die\b|\bdie (?:in committee|on the vine|a slow death)\b",
        r"\bnot that it (?:matters|will matter|makes a difference)\b",
        r"\bfor all the good it(?:'ll| will) do\b|\bfat lot of good\b",
        r"\bno (?:point|use|sense) (?:in )?\w+ing\b",
        r"\bnever (?:going to|gonna) (?!(?:forget|regret)\b)\w+",
        r"\b(?:can't|cannot|don't) see (?:[\w&'-]+ ){1,2}(?:ever )?(?:going for it|saying yes|"
        r"coming (?:round|around)|agreeing|approving|picking us|choosing us)\b",
        r"\b(?:we're|we are|we) (?:going to|gonna) lose (?:this|it|the deal|this one)\b",
        r"\b(?:will|'ll|is going to|gonna) pull the plug\b|\bbefore (?:they|he|she|[\w&'-]+ "
        r"?[\w-]*) pulls? the plug\b",
    ),
    Target.CUSTOMER_OR_DEAL,
)

_FREQUENCY = (
    r"(?:every (?:single |last )?(?:time|call|meeting|week|quarter|renewal|cycle|round|"
    r"year|month)|without fail|as (?:per )?usual|as always|like always|like clockwork|"
    r"constantly|all the time|non-?stop|on repeat|every single one|like they always do|"
    r"same as always|same old)"
)
# A trailing "every time" qualifies the whole clause, so its subject is the clause's first
# subject even when "we" shows up in between ("forgets everything we agreed, every call").
_BROAD_OVERGEN_TRAILING = Rule(
    Trap.OVERGENERALIZING,
    _rx(
        rf"\b{_FREQUENCY}(?:$|[,.;!])",
        rf"^{_FREQUENCY}\b",
        r"^(?:so |how )?(?:typical|classic)$",
    ),
    Target.CUSTOMER_OR_DEAL,
)
_BROAD_OVERGEN = Rule(
    Trap.OVERGENERALIZING,
    _rx(
        r"^(?:so |how |just )?(?:typical|classic) (?!(?:me|us|mistake|rookie|sales|"
        r"enterprise|timeline|cycle)\b)[\w&'-]+(?:'s)?(?: [\w&'-]+)?(?:[,!:]|$)",
        r", (?:typical|classic|so typical of) (?!(?:me|us|mistake)\b)[\w -]{1,25}$",
        r"\b(?:nobody|no one|no-one|not one person|everyone|everybody) (?:in|at|from|on) "
        r"(?:their|that|[\w&-]+'s)\b",
        r"\bevery (?:call|meeting|demo|session|qbr|email|workshop) with (?:[\w&'-]+ ){1,3}"
        r"(?:starts|ends|turns|becomes|goes|runs)\b",
        r"\b(?:change|changes|changing) (?:their|his|her) minds? (?:constantly|all the time|"
        r"every)\b",
        r"\b(?:same|this) stunt every\b|\bsame as every (?:project|deal|time|year|quarter)\b",
        r"\bstory of (?:this|the|my|our) (?:account|deal|life)\b",
        r"\byet another (?:round|request|delay|reschedule|change|stakeholder|meeting)\b",
    ),
    Target.CUSTOMER,
)

# --- understatement, euphemism and slang: the same traps in other voices --------------------
#
# Families heard from reps who write dry enterprise understatement ("let's just say", "I have
# my doubts", "realistically …") or startup slang ("cooked", "copium", "sus", "a bot").

_SLANG_INSULT = (
    r"(?:(?:cringe|sus|mid|dumb|shady|moody|lazy|clueless)\b(?!-)(?! (?:of|about|with|to|on|"
    r"for|market|tier|size|range|level|sized|cycle|year|quarter|deal|point|term)\b)"
    r"|(?:an? |such an? )(?:total |complete |absolute |real |walking |[\w-]+ )?(?:airhead|gremlin|"
    r"goblin|bot|npc|whiner|misanthrope|cold fish|roadblock|nightmare human|nightmare person|"
    r"maybe|spreadsheet with legs|stuffed shirt|dead weight|deadweight)"
    r"(?=$|[,.!;:]| (?:who|that|and|with|lol|fr|ngl|tbh|honestly|smh|lmao|omg|af|in a suit)\b))"
)
_VOICE_COMPETITOR = Rule(
    Trap.COMPETITOR_BIAS,
    _rx(
        r"\b[\w-]+-(?:captured|pilled|brainwashed)\b",
        r"\b(?:[\w-]+(?:'s|s') )(?:mouthpiece|pre-?sales (?:team|person|rep)|pre-?sales)\b",
        r"\bdoing [\w-]+(?:'s|s') (?:pre-?sales|selling|marketing|sales pitch)\b",
        r"\b(?:is|'s|are|'re) (?!(?:a |an )?(?:professional|pro|class|classy|gentleman|lady|"
        r"engineer|salesperson|seller|operator|leader|honest|decent|fair|good|great|solid|nice|"
        r"kind)\b)[\w-]+ through and through\b",
        r"\ban? (?!(?:numbers|people|details?|product|tech|finance|process|data|sales|ops|"
        r"engineering|family|team)\b)[\w-]+ (?:man|woman|guy|person|loyalist) first\b",
        r"\ba walking [\w-]+ (?:ad|advert|billboard|commercial|brochure)\b",
        r"\b[\w-]+ (?:simp|bootlicker|cultist|sleeper agent)s?\b",
        r"\bstockholm syndrome\b",
        r"\bbrainwashed\b",
        r"\b(?:he's|she's|he is|she is) (?:totally |completely |clearly |so )?compromised\b",
        r"\b(?:getting|gets|got|taking|takes) (?:perks|kickbacks|freebies|gifts) from\b",
        r"\bwined (?:and|n|&) dined\b",
        r"\b(?:ruler|yardstick|scorecard|criteria|checklist|requirements) (?:made|written|drawn "
        r"up|designed|built) by [\w-]+",
        r"\b(?:zero|no) objectivity\b",
        r"\b(?:neutral|impartial|objective|independent) (?:he|she|they) (?:is|are) not\b",
        r"\babout as (?:impartial|neutral|objective|independent) as\b",
        r"\bwon't look at anything else objectively\b",
    ),
    Target.CUSTOMER,
)
_VOICE_HAPPINESS = Rule(
    Trap.CHASING_HAPPINESS,
    _rx(
        r"\b(?:keep|keeping|keeps|kept) (?!(?:my|our|the) (?:se |sdr |bdr |sales |internal )?"
        r"(?:team|manager|boss|family|se|sdrs?|reps?)\b)[\w&' -]{1,30}? (?:vibing|feeling good|"
        r"in a good mood|pampered|purring)\b",
        r"\bif (?:the |our |my )?(?:client|customer|they|he|she|[\w&'-]+)(?:'s| is| are|'re)? "
        r"(?:isn't|is not|aren't|are not|not) (?:happy|smiling|content)\b[^.]{0,40}\b(?:job|"
        r"bounce|churn|walk|leave|gone|toast|cooked)\b",
        r"\bif (?:they're|they are|he's|she's|the (?:client|customer) is) (?:happy|smiling|"
        r"content)\b[^.]{0,30}\b(?:done my job|job done|takes care of itself|renewal is safe|"
        r"we're (?:fine|good|golden|safe))\b",
        r"\b(?:success|win|kpi|goal)\b[^.]{0,25}(?:=|is|means) (?:a |an )?(?:happy|smiling|"
        r"delighted|content) (?:customer|client)\b",
        r"\bhappiness (?:duty|patrol|mode|management)\b",
        r"\brests on keeping\b",
    ),
    Target.BUILT_IN,
)
_US_BEST = (
    r"(?:we(?:'re| are)? (?:still |so much |way |actually |really )?(?:the best|better|the goat|"
    r"goated|elite|worth|great|good enough|the right|valuable|superior|slap)|why we(?:'re| are)"
    r" worth)"
)
_VOICE_VALUE = Rule(
    Trap.CONVINCING_VALUE,
    _rx(
        r"\bso (?:they|he|she|nobody|no one|[\w&'-]+)(?: there)? (?:can't|cannot|can|won't|will) "
        r"(?:ever )?(?:question|doubt) (?:whether|if|that) we(?:'re| are)\b",
        r"\b(?:convince|prove|show)\b[^.]{0,40}\bonce and for all\b",
        r"\b(?:see|show|prove|know)\b,? (?:again|all over again),? (?:that )?we(?:'re| are)\b",
        rf"\b(?:remind|reminding|convince|convincing|show|prove)\b[^.]{{0,30}}\b{_US_BEST}"
        r"(?! off)",
        r"\b(?:showcase|demo|review|deck|reel|workshop|roadshow)\b[^.]{0,25}\brub it in\b",
        r"\buntil it sinks in\b",
        r"\bprov(?:e|ing) (?:our|ourselves|our value|our worth)\b[^.]{0,20}\b(?:all over again|"
        r"again and again|over and over)\b",
        r"\b(?:picking|choosing|buying from|signing with) us was the right (?:call|choice|"
        r"decision)\b",
        r"\b(?:case stud(?:y|ies)|demo|deck|showcase|roi|value|proof)\b[^.]{0,30}\bto change "
        r"(?:his|her|their) minds?(?:$|[,.!;]| about us\b)",
        r"\bso (?:they|he|she) stay convinced\b",
        r"\bre-?(?:pitch|prove|sell) (?:our|the) (?:value|worth)\b",
        r"\bout-?value\b",
        r"\bso (?:strong|good|compelling|convincing) (?:that )?(?:they|he|she) (?:feel silly|"
        r"can't say no|have no choice|would be crazy)\b",
        r"\b(?:another|one more) (?:[\w-]+ ){0,2}(?:value|roi|benefits?) (?:[\w-]+ ){0,2}"
        r"(?:workshop|session|review|showcase|roadshow|story|recap|deck)\b[^.]{0,30}\b(?:it is|"
        r"should|remind|prove|convince)\b",
        r"\bremind (?:them|him|her) (?:every \w+|again|constantly) (?:why|how|that)\b",
    ),
    Target.BUILT_IN,
)
_VOICE_LABEL = Rule(
    Trap.LABELING,
    _rx(
        rf"\b(?:is|are|'re|was|remains?|(?:he|she|who|that|dude|guy)'s) (?:so+ |lowkey |kinda |"
        rf"totally |just |honestly |literally )?{_SLANG_INSULT}",
        r"\b(?:is|'s) (?:an? )?(?:deeply |truly |genuinely |really |very |thoroughly )?"
        r"(?:unpleasant|nasty|horrible|vile|vindictive|petty|patronising|patronizing) "
        r"(?:person|man|woman|human|individual|character|piece of work)\b",
        r"\ballergic to (?:decisions|deciding|commitment|committing|making decisions)\b",
        r"\b(?:zero|no) brain cells\b",
        rf"^(?:{_INSULT_ADJ}|paranoid|arrogant|patronising|patronizing) is the (?:only |best |"
        r"right )?word\b",
        r"^(?:arrogant|patronising|patronizing|condescending|petty|vindictive|insufferable|"
        r"unbearable|obnoxious)\b",
        r"\b(?:sus|lazy|moody|shady|dumb|clueless|useless) af\b",
    ),
    Target.CUSTOMER,
)
_VOICE_BAD = (
    r"(?:failing|failed|at risk|died|dead|slipped|slid|lost|late|behind|stuck|stalled|looks? "
    r"(?:bad|mid|trash|terrible|awful)|looking (?:bad|mid|trash)|ruined|cooked|toast|tanked)"
)
_VOICE_BLAME = Rule(
    Trap.BLAMING,
    _rx(
        rf"\b{_VOICE_BAD}\b[^.]{{0,50}}?\b(?:because|bc|cos|cuz|purely because|only because|"
        rf"courtesy of) (?!{_OUR_SIDE_WORD}\b)(?:their|these|those|the|[\w&'-]+)(?: [\w&'-]+)"
        r"{0,3}? (?:won't|wouldn't|can't|cant|couldn't|didn't (?:bother|read|show|turn up|do|"
        r"send|follow|push|enforce)|refused|misconfigured|fumbled|sandbagged|gave us|drag|drags|"
        r"dragged|killed|blew|tanked|sat|ghosted|botched|forgot|ignored)\b"
        r"(?![^.]{0,30}\b(?:until|till|before)\b)",
        rf"\b{_VOICE_BAD}\b[^.]{{0,40}}\b(?:because|bc|cos|cuz|thanks to) (?:of )?(?:him|her|"
        r"them)\b",
        r"\bif (?:their|the customer|the client|he|she|they|[\w&-]+'s)[\w&' -]{0,40}? "
        r"(?:weren't|wasn't|hadn't|didn't|'d) (?:so |just |even )?[\w ]{1,40}?,? (?:we'd|"
        r"we would|i'd|i would) (?:have|'ve|be)\b",
        r"\bthat's why (?:we|i) (?:lost|missed|slipped|blew)\b",
        r"\b(?:is|'s|was) (?:100%|entirely|squarely|all) on their (?:side|end)\b",
    ),
    Target.CUSTOMER_OR_DEAL,
)
# Their own doing, with the customer as the subject: "he's screwing up the whole rollout".
_VOICE_BLAME_ACT = Rule(
    Trap.BLAMING,
    _rx(
        r"\b(?:screwing|screwed|tanking|tanked|wrecking|wrecked|ruining|ruined|fumbled|"
        r"fumbling|botched|sandbagged|sabotaging|sabotaged|derailed|derailing|blew up) "
        r"(?:up )?(?:the |our |my |a )?(?:whole |entire |perfectly good )?(?:rollout|poc|pilot|"
        r"pipeline review|pipeline|q\d?|quarter|month|number|partnership|implementation|"
        r"integration|go-live|launch|timeline|forecast)\b",
        r"\b(?:they|he|she|[\w&'-]+) (?:screwed|burned|burnt|stiffed) us\b",
        r"\b(?:their|his|her) (?:[\w-]+ )?(?:games|politics|dithering|indecision|foot-?dragging)"
        r" (?:cost|costs|killed|sank|tanked|lost|blew)\b",
    ),
    Target.CUSTOMER,
)
_VOICE_MIND = Rule(
    Trap.MIND_READING,
    _rx(
        r"\b(?:only|just) (?:in|about|for|cares? about|interested in) (?:his|her|their) own "
        r"(?:visibility|career|bonus|image|agenda|reputation|profile|interests?|ego|standing|"
        r"kpis?|empire|promotion|back|benefit|skin|glory)\b",
        r"\b(?:isn't|is not|aren't|are not|wasn't) (?:really |even |actually )?(?:interested "
        r"in|serious about|invested in) (?:outcomes|results|the outcome|fixing|solving|success|"
        r"improving)\b",
        r"\bmake a name for (?:himself|herself|themselves)\b",
        r"\b(?:wants?|after|looking for) (?:a|his|her|their) (?:scalp|trophy|head on a plate)\b",
        r"\b(?:are|is) (?:just |only |clearly |obviously )?(?:a pretext|a smokescreen)\b",
        r"\b(?:are|is) (?:just|only|clearly|obviously) an excuse\b",
        r"\bthe real (?:issue|reason|story|agenda) is (?:that )?(?:[\w'-]+ ){1,4}(?:hates?|"
        r"wants?|resents?|fears?|is (?:scared|afraid|threatened|jealous)|doesn't want|"
        r"can't stand)\b",
        r"\bhates? being (?:told|managed|challenged|questioned)\b",
        r"\b(?:waiting|hoping|praying) for us to (?:cave|fold|blink|panic|drop|give up|crack|"
        r"walk|fail)\b",
        r"\bthat's (?:his|her|their) (?:whole |entire )?(?:game|play|angle)\b(?! plan| book)",
        r"\btranslation: (?:they|he|she)(?:'re|'s| are| is)? (?:just |only )?(?:waiting|stalling|"
        r"hoping|shopping|using|trying|buying|playing)\b",
        r"\blooking for (?:reasons|an excuse|excuses) to (?:kill|block|reject|drop|say no|dump)\b",
        r"\b(?:forgotten|forgot) (?:everything|all|what|how much) we(?:'ve)? (?:did|done|do|"
        r"delivered|built)\b",
        r"\b(?:doesn't|does not|don't) take (?:me|us) seriously\b",
    ),
    Target.CUSTOMER,
)
_VOICE_FORTUNE = Rule(
    Trap.FORTUNE_TELLING,
    _rx(
        r"\b(?:realistically|honestly|let's be honest|let's face it|face it|tbh|frankly)\b"
        r"[^.]{0,30}\b(?:this|it|the deal|this one|that one|the renewal|the pilot|this deal)"
        r"(?:'s| is)? (?:really )?(?:not|isn't|is not) going anywhere\b",
        r"(?<=\bdoubts )(?:this|it|that|they|he|she|the \w+)(?:'ll|'d| will| would| is going "
        r"to| are going to| ever)\b",
        r"\b(?:not|don't|do not) expect(?:ing)? (?:this|it|them|him|her|the deal|[\w&'-]+) to "
        r"(?:close|sign|renew|buy|happen|land|move|go anywhere|come through)\b"
        r"(?! (?:before|until|till|by|this|next|in|yet|for)\b)",
        r"\bnothing will (?:have changed|come of it|happen)\b",
        r"\b(?:achieves?|achieved|accomplishes?) nothing\b",
        r"\b(?:nothing|never|doesn't|won't|isn't|hasn't)\b[^.]{0,40}\band (?:it |they |he |she )?"
        r"never will\b",
        r"\b(?:we|i)(?:'re| are| am|'m)? (?:not going to|not gonna|won't|will not|aren't going "
        r"to) (?:win|land|crack|convince|turn) (?:this|that|it|them|him|her)(?: one| deal| "
        r"renewal| over)?+(?! (?:on|by|with|without|unless|if|through|via|at|in|before|until|"
        r"this)\b)",
        r"\bcopium\b",
        r"\bl (?:deal )?incoming\b",
        r"\bwhy (?:am i|are we|do i|do we) (?:even|still even) (?:bother|bothering|trying|"
        r"prepping|preparing|going|showing up|pitching|chasing|demoing|sending)\b",
        rf"\bno way (?!{_OUR_SIDE_WORD}\b)(?:[\w&'-]+ ){{1,2}}(?:picks?|signs?|renews?|buys?|"
        r"chooses?|approves?|says yes|goes for)\b",
        r"\b(?:seen|watched) this (?:film|movie) before\b",
        r"\b(?:[\w&-]+'s|they're|he's|she's|they are) not (?:buying|signing|renewing|switching|"
        r"expanding|converting)\b(?! (?:until|before|till|this|in|yet|now|it|that|the|our|"
        r"your|any)\b)",
        r"\b(?:'s|'re) not (?:going to|gonna) (?:close|sign|buy|renew|happen|work|move|expand)\b",
        r"\bno (?:relationship|deal|decision|progress) will ever\b",
        r"\b(?:they|he|she)(?:'ll| will|'re going to| are going to|'re gonna|'s gonna) (?:just )?"
        r"(?:go with|pick|choose|award it to|hand it to) (?:the cheapest|whoever|the incumbent|"
        r"someone else|the other)\b(?![^.]{0,40}\b(?:unless|if we|so let's|so we)\b)",
        r"\b(?:we'll|we will|we're gonna|we're going to|they'll|they will|he'll|she'll) (?:just )?"
        r"(?:lose|say no|walk|churn|ghost)\b[^.]{0,25}\banyway\b",
        r"\b(?:deal|expansion|renewal|upsell|it|this|that|this one|that one|pilot|poc|"
        r"signature|contract|close)(?:'s| is) never (?:happening|going to happen|gonna happen)\b",
        r"(?<=expecting )(?:this|it|them|him|her|the deal|[\w&'-]+) to (?:close|sign|renew|buy|"
        r"happen|land)\b(?! (?:before|until|till|by|this|next|in|yet|for)\b)",
        r"\bwon't (?:get|make|find) (?:budget|a decision|any budget|approval)\b"
        r"(?! (?:until|before|till|by|this|next|in))",
    ),
    Target.CUSTOMER_OR_DEAL,
)
_VOICE_OVERGEN = Rule(
    Trap.OVERGENERALIZING,
    _rx(
        r"\beach and every (?:time|one|call|meeting|quote|step|round)\b",
        r"\b(?:complain|complains|complaining|moan|moans|whine|whines|objects?|nitpicks?|argues?|"
        r"pushes back|push back|fights?) (?:about|over|on|to|with) (?:everything|anything|every "
        r"single thing)\b",
        r"\b(?:these|those) (?:[\w-]+ )?(?:banks|hospitals|hospital groups|buyers|procurement "
        r"(?:teams|people|folks)|cfos|execs|enterprises|companies) (?:all |always |never |are all )"
        r"(?:want|drag|say|haggle|ask|complain|push|stall|take|think|move|ghost|go dark|pick|"
        r"choose|hate)",
        r"^(?!.*\b(?:on time|paid|deliver|great|helpful|fair|prepared|responsive)).*"
        r"\bwithout exception\b",
        r"\bevery (?:[\w-]+ ){1,2}with (?:them|him|her|[\w&'-]+) (?:starts|ends|turns|becomes|"
        r"goes|runs|drags)\b",
        r"\bevery (?:person|single person|exec|stakeholder|buyer) (?:at|over at|on|in|from) "
        r"[\w&'-]+ (?:asks the same|says no|complains|hates|ignores|pushes back|questions)\b",
        r"\band i mean (?:never|always|every)\w*",
        r"\bnothing ever (?:sticks|moves|gets done)\b",
    ),
    Target.CUSTOMER,
)
_VOICE_RULES: tuple[Rule, ...] = (
    _VOICE_COMPETITOR,
    _VOICE_HAPPINESS,
    _VOICE_VALUE,
    _VOICE_LABEL,
    _VOICE_BLAME,
    _VOICE_BLAME_ACT,
    _VOICE_MIND,
    _VOICE_FORTUNE,
    _VOICE_OVERGEN,
)

_BROADER_RULES: tuple[Rule, ...] = (
    _BROAD_COMPETITOR,
    _BROAD_HAPPINESS,
    _BROAD_VALUE,
    _BROAD_LABEL,
    _BROAD_BLAME,
    _BROAD_BLAME_COUNTERFACTUAL,
    _BROAD_MIND,
    _BROAD_MIND_US,
    _BROAD_FORTUNE,
    _BROAD_OVERGEN_TRAILING,
    _BROAD_OVERGEN,
)

_MORE_RULES: tuple[Rule, ...] = (
    _COMPETITOR_MORE,
    _HAPPINESS_MORE,
    _VALUE_MORE,
    _LABEL_MORE,
    _BLAME_MORE,
    _MIND_MORE,
    _FORTUNE_MORE,
    _OVERGEN_MORE,
)

RULES: tuple[Rule, ...] = (
    *_COMPETITOR_RULES,
    *_HAPPINESS_RULES,
    *_VALUE_RULES,
    *_LABEL_RULES,
    *_BLAME_RULES,
    *_BLAME_NAMED_RULES,
    *_MIND_RULES,
    *_FORTUNE_RULES,
    *_OVERGEN_RULES,
    *_MORE_RULES,
    *_GENERAL_RULES,
    *_BROADER_RULES,
    *_VOICE_RULES,
)


class Detector:
    """Precompiled rules behind `detect`; stateless, so one instance serves every message."""

    def __init__(self, rules: tuple[Rule, ...] = RULES, *, use_gates: bool = True) -> None:
        self._rules = rules
        self._use_gates = use_gates  # off only to prove in tests that gates change nothing
        # Every alternative of every rule, numbered in rule order, plus an index from each gate
        # prefix to the alternatives it opens: a message then looks up its own word prefixes
        # instead of testing hundreds of gates one by one.
        self._parts: list[tuple[Rule, frozenset[str] | None, re.Pattern[str]]] = [
            (rule, gate, pattern) for rule in rules for gate, pattern in rule.parts
        ]
        self._ungated = frozenset(i for i, (_, gate, _) in enumerate(self._parts) if gate is None)
        index: dict[str, set[int]] = {}
        for number, (_, gate, _) in enumerate(self._parts):
            for prefix in gate or ():
                index.setdefault(prefix, set()).add(number)
        self._index = {prefix: frozenset(numbers) for prefix, numbers in index.items()}

    def detect(self, text: str) -> Detection:
        plain = normalize_slack_text(text)
        clauses = _own_clauses(plain) if plain else []
        if not clauses:
            return SILENT
        if self._use_gates:
            clause_prefixes: list[set[str] | None] = [
                _word_prefixes(clause.text) for clause in clauses
            ]
            open_parts = set(self._ungated)
            index = self._index
            for prefix in set().union(*clause_prefixes):  # type: ignore[arg-type]
                numbers = index.get(prefix)
                if numbers is not None:
                    open_parts.update(numbers)
            candidates = sorted(open_parts)
        else:
            clause_prefixes = [None] * len(clauses)
            candidates = list(range(len(self._parts)))
        evidence: dict[Trap, Evidence] = {}
        parts = self._parts
        for number in candidates:
            rule, gate, pattern = parts[number]
            if rule.trap in evidence:
                continue
            found = _first_counting_cue(rule, gate, pattern, clauses, clause_prefixes)
            if found is not None:
                evidence[rule.trap] = found
        if not evidence:
            return SILENT
        traps = sort_by_priority(evidence)
        return Detection(True, traps, tuple(evidence[trap] for trap in traps))


@dataclass(frozen=True, slots=True)
class _Clause:
    text: str
    context: str  # everything the rep wrote before this clause, for pronouns
    lead_in: str = ""  # the sentence or clause just before, for a clause with no subject


_CONTEXT_CHARS = 300


def _own_clauses(plain: str) -> list[_Clause]:
    """The rep's own statements: no quotes, reported speech, team questions or corrections."""
    clauses: list[_Clause] = []
    context = ""
    lead_in = ""
    unquoted = _STACCATO.sub(lambda m: m.group(0).replace(". ", " "), _strip_quotes(plain))
    for raw in _SENTENCE_SPLIT.split(unquoted):
        sentence = raw.strip(" .!,;:")
        if not sentence:
            continue
        if (
            _is_team_question(sentence)
            or _CORRECTION.search(sentence)
            or _PRAISE.search(sentence)
            or _SELF_CHECK.search(sentence)
        ):
            context += " " + sentence
            lead_in = sentence
            continue
        for index, part in enumerate(_CLAUSE_SPLIT.split(sentence)):
            clause = _drop_reported_speech(part)
            if clause:
                # Pronouns point back a sentence or two; a bounded context keeps long posts cheap.
                clauses.append(_Clause(clause, context[-_CONTEXT_CHARS:], lead_in))
            context += " " + part
            lead_in = part if index == 0 else lead_in
        lead_in = sentence
    return clauses


def _first_counting_cue(
    rule: Rule,
    gate: frozenset[str] | None,
    pattern: re.Pattern[str],
    clauses: list[_Clause],
    clause_prefixes: Sequence[set[str] | None],
) -> Evidence | None:
    """The first cue of this alternative that is about the customer; gates skip clauses."""
    for clause, words in zip(clauses, clause_prefixes, strict=True):
        if gate is not None and words is not None and gate.isdisjoint(words):
            continue
        for match in pattern.finditer(clause.text):
            if _cue_counts(rule, match, clause):
                return Evidence(rule.trap, match.group(0).strip())
    return None


def _cue_counts(rule: Rule, match: re.Match[str], clause: _Clause) -> bool:
    before = clause.text[: match.start()]
    if _is_negated(before):
        return False
    if rule.trap is Trap.LABELING and _THING_SUBJECT.search(before):
        return False
    after = clause.text[match.end() :]
    # "zero chance our legal team turns it": a doom cue whose subject follows it. Other cues
    # are followed by their object ("dragged this out so we lost our pricing window").
    subject_may_follow = rule.trap is Trap.FORTUNE_TELLING
    if _OPINION_FRAME.search(before):
        before = ""  # "I have my doubts they'll sign": the rep's frame, not the subject
    if rule.trap is Trap.BLAMING and _last_reference(before, with_pronouns=False)[0] is Side.SELF:
        # "we lost because their cfo …" names its culprit; "I botched the rollout plan for
        # their team" is the rep owning it.
        cue = match.group(0)
        if _CUSTOMER_REF.search(cue) is None and _PRONOUN_REF.search(cue) is None:
            return False
    return _target_fits(
        rule.target,
        before,
        match.group(0),
        after,
        clause.text,
        clause.context,
        subject_may_follow,
        clause.lead_in,
    )


_OPINION_FRAME = re.compile(
    r"\b(?:i|we)(?:'m| am)? (?:have (?:my|serious|real|some) doubts|(?:really )?doubt|reckon|"
    r"bet|suspect|guess|feel like|not expecting)(?: that)? $"
)


def _strip_quotes(text: str) -> str:
    """Quoted words are the customer's, not the rep's verdict: blank them out."""
    return _QUOTED_SPAN.sub(" (quote) ", text)


def _drop_reported_speech(clause: str) -> str:
    """'their cfo said this is a waste of money' reports speech; keep only the reporting part."""
    match = _SPEECH_VERB.search(clause)
    if match is None:
        return clause.strip()
    if _TRAILING_ATTRIBUTION.match(match.group(0)):
        return ""  # "picking us was the right call, according to their cfo": all of it is theirs
    return clause[: match.start()].strip()


_TRAILING_ATTRIBUTION = re.compile(r"according to|(?:his|her|their) words")


def _is_team_question(sentence: str) -> bool:
    return sentence.endswith("?") and _TEAM_QUESTION.match(sentence) is not None


def _is_negated(before_cue: str) -> bool:
    return _NEGATION_BEFORE.search(before_cue[-40:]) is not None


def _target_fits(
    target: Target,
    before: str,
    cue: str,
    after: str,
    clause: str,
    context: str,
    subject_may_follow: bool = True,
    lead_in: str = "",
) -> bool:
    side = _leading_reference_side(cue, before + " " + context)
    if side is Side.UNKNOWN:
        side = _side_of_subject(before, context)
    if side is Side.UNKNOWN:
        # No subject before the cue: the cue may name it ("their indecision cost us").
        named = _side_of_subject(_first_reference_text(cue), context)
        side = named if named is Side.CUSTOMER else side
    if (
        subject_may_follow
        and side is Side.UNKNOWN
        and _leading_reference_side(after, context) is Side.OWN
    ):
        return False  # "zero chance our legal team turns it by friday"
    if target is Target.BUILT_IN:
        return True
    if side is Side.CUSTOMER:
        return True
    if side is Side.UNKNOWN and lead_in and _first_reference_side(lead_in, context) is Side.OWN:
        # A clause with no subject of its own carries on the one before it:
        # "our product team always says 'next quarter'. every single time."
        return False
    if side is Side.UNKNOWN:
        # In a deal channel a named third party (usually a customer company) is the norm;
        # our own side is recognised explicitly, so an unknown subject counts as theirs.
        return True
    if target is Target.CUSTOMER_OR_DEAL and side in (Side.SELF, Side.UNKNOWN):
        return any(
            pattern.search(clause) is not None for pattern in (_DEAL_REF, _CUSTOMER_REF)
        ) or (_CUSTOMER_REF.search(context) is not None)
    return False


def _leading_reference_side(text: str, context: str) -> Side:
    """The side named by the words a text starts with ("they're never expanding")."""
    text = text.lstrip()
    for pattern in (_CUSTOMER_REF, _OWN_REF, _SELF_REF, _PRONOUN_REF):
        match = pattern.match(text)
        if match is not None:
            return _side_of_subject(match.group(0), context)
    return Side.UNKNOWN


def _first_reference_side(text: str, context: str) -> Side:
    """The side of the first person or team a text names (its subject, in chat syntax)."""
    # Only our people, teams and tools can be a subject here: "not my favourite person" isn't.
    sides = (Side.CUSTOMER, Side.OWN, Side.SELF, Side.UNKNOWN)
    first: tuple[int, int, str] | None = None
    for rank, pattern in enumerate((_CUSTOMER_REF, _OWN_AGENT_REF, _SELF_REF, _PRONOUN_REF)):
        match = pattern.search(text)
        if match is not None and (first is None or (match.start(), rank) < first[:2]):
            first = (match.start(), rank, text[: match.end()])
    if first is None:
        return Side.UNKNOWN
    side = sides[first[1]]
    return _side_of_subject(first[2], context) if side is Side.UNKNOWN else side


def _first_reference_text(cue: str) -> str:
    """The cue up to the end of its first reference to anyone, for subject lookup."""
    ends = [
        match.end()
        for pattern in (_CUSTOMER_REF, _OWN_REF, _SELF_REF, _PRONOUN_REF)
        if (match := pattern.search(cue)) is not None
    ]
    return cue[: min(ends)] if ends else ""


def _side_of_subject(before: str, context: str) -> Side:
    """Who the words just before a cue are about: the last person or thing named."""
    side, is_pronoun = _last_reference(before, with_pronouns=True)
    if not is_pronoun:
        return side
    # A pronoun points back to the last named person or team; in a deal channel an
    # unexplained "he" or "they" is the customer.
    text = context + " " + before
    customer_at = _last_position(_CUSTOMER_REF, text)
    own_at = _last_position(_OWN_AGENT_REF, text)
    return Side.OWN if own_at > customer_at else Side.CUSTOMER


# At the same position a named customer beats "our"/"my" ("our champion" is theirs).
_REFERENCE_PATTERNS: tuple[tuple[re.Pattern[str], Side, int], ...] = (
    (_CUSTOMER_REF, Side.CUSTOMER, 3),
    (_OWN_REF, Side.OWN, 2),
    (_SELF_REF, Side.SELF, 1),
)


def _last_reference(text: str, *, with_pronouns: bool) -> tuple[Side, bool]:
    """The side of the last reference in text, and whether that reference was a pronoun."""
    best = (-1, 0, Side.UNKNOWN, False)
    for pattern, side, rank in _REFERENCE_PATTERNS:
        position = _last_position(pattern, text)
        if position >= 0 and (position, rank) > best[:2]:
            best = (position, rank, side, False)
    if with_pronouns:
        position = _last_position(_PRONOUN_REF, text)
        if position > best[0]:
            best = (position, 0, Side.CUSTOMER, True)
    return best[2], best[3]


def _last_position(pattern: re.Pattern[str], text: str) -> int:
    position = -1
    for match in pattern.finditer(text):
        position = match.end()
    return position


_DEFAULT_DETECTOR = Detector()


def detect(text: str) -> Detection:
    """Detect a vent about the customer in a Slack message (as Slack sends it)."""
    return _DEFAULT_DETECTOR.detect(text)
