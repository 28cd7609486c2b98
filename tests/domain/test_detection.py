"""The vent detector: structure, rules, the shipped head, and a table of clear cases.

The table is ours (written from docs/LABELLING.md by an earlier session, for the rule-based
detector); the learned detector never trained on it, so it is held to an aggregate floor
rather than case by case. The frozen test split and the unseen-voices set are never read
here: they are measured only by `python -m bot bench detector`.
"""

from __future__ import annotations

import pytest

from bot.domain.detection import SILENT as SILENT_DETECTION
from bot.domain.detection import Detection, default_detector, detect
from bot.domain.detection.encoder import (
    MAX_PIECE_CHARS,
    TOKENIZER_FILE,
    BpeTokenizer,
    wordllama_dir,
)
from bot.domain.detection.features import MAX_MODEL_CHARS, chunks, model_text
from bot.domain.detection.rules import is_bare_answer, is_short_without_a_target
from bot.domain.traps import TRAP_PRIORITY, Trap

C = Trap.COMPETITOR_BIAS
H = Trap.CHASING_HAPPINESS
V = Trap.CONVINCING_VALUE
L = Trap.LABELING
B = Trap.BLAMING
M = Trap.MIND_READING
F = Trap.FORTUNE_TELLING
OV = Trap.OVERGENERALIZING

# (message as Slack sends it, expected main trap)
VENTS: list[tuple[str, Trap]] = [
    # competitor_bias
    ("he's basically on SAP's payroll", C),
    ("their CIO is biased towards the competition, always has been", C),
    ("the new VP is a total Oracle fanboy, we never had a chance", C),
    ("their procurement lead is in bed with Salesforce", C),
    ("the RFP is rigged for the incumbent", C),
    ("their architect drank the HubSpot kool-aid years ago", C),
    # chasing_happiness
    ("my job is to keep them smiling", H),
    ("honestly as long as the customer is happy I don't care about the upsell", H),
    ("goal this quarter is to keep Acme happy, whatever it takes", H),
    ("we just need to make their CFO happy and the renewal takes care of itself", H),
    # convincing_value
    ("one more showcase so they remember why they picked us", V),
    ("planning another QBR to remind them why they chose us", V),
    ("need to prove to them that we're worth the money again", V),
    ("let's build an extra dashboard so they see how good we are", V),
    # labeling
    ("their decision-maker is a jerk, he'll never give us a shot", L),
    ("their director is a weasel", L),
    ("the CFO over there is such a clown", L),
    ("honestly their procurement guy is a power hungry political snake", L),
    ("this clown of a CTO cancelled again", L),
    ("their VP is completely clueless", L),
    ("dealing with that muppet from Globex again today :face_palm:", L),
    # blaming
    ("we'd have closed if their buyer did his job", B),
    ("he's screwing it all up for us", B),
    ("it's entirely their CFO's fault we slipped", B),
    ("their indecision cost us the quarter", B),
    ("their champion tanked the deal", B),
    # mind_reading
    ("he's just out for himself", M),
    ("they only want a free consultant", M),
    ("she's just protecting her turf", M),
    ("their EB is stringing us along until the Oracle renewal", M),
    ("the buyer doesn't care about solving anything, he wants to look good", M),
    ("they're just using us for a price check", M),
    # fortune_telling
    ("they'll never sign", F),
    ("these calls are a waste of time", F),
    ("the Initech deal is dead, no point even calling them", F),
    ("he's never going to approve this, we don't stand a chance", F),
    ("might as well walk away from this account", F),
    ("meetings with their team are pointless", F),
    # overgeneralizing
    ("no one over there likes him", OV),
    ("they drag everything out, every time", OV),
    ("their legal team always moves the goalposts", OV),
    ("they never answer emails", OV),
    ("everyone at Globex hates change", OV),
    # broader families: other reps' slang, synonyms and syntax
    ("the CISO has Workday goggles on, nothing we show him counts", C),
    ("procurement tilted the scorecard towards Oracle", C),
    ("their COO is so cosy with SAP it's embarrassing", C),
    ("job one: keep the ops lead comfy and cheerful", H),
    ("a contented client is a loyal client, so whatever they want they get", H),
    ("building a savings dashboard so their CFO can see we earn our fee", V),
    ("time for a value recap to win them back", V),
    ("their GC is a pedantic nightmare", L),
    ("the ops lead is a spineless jobsworth", L),
    ("we'd be live by now if Copperleaf had sent the specs", B),
    ("we lost the pilot cos their team couldn't be bothered to log in", B),
    ("their board is the reason this deal is dead", B),
    ("they're only taking the meetings to benchmark our price", M),
    ("we're only there to drive their incumbent's price down", M),
    ("forget Corvane, that ship has sailed", F),
    ("oh great, another sync with their IT team that goes nowhere", F),
    ("typical Quillon, every deadline is a suggestion", OV),
    ("the buyer forgets everything we agreed, every single call", OV),
    ("every. single. time. they move the goalposts", OV),
    # understatement, euphemism and slang (our wording, after the third and fourth authors)
    ("let's just say their CFO is a political animal", L),
    ("i'll put it diplomatically: their buyer is clueless", L),
    ("their CFO is a total airhead, forgets everything we agree", L),
    ("the ops lead at Zentro is sus af ngl", L),
    ("he's allergic to decisions, a walking maybe", L),
    ("their COO is Oracle through and through", C),
    ("a buying committee that's obviously SAP-captured", C),
    ("their procurement guy is a Salesforce simp lol", C),
    ("keeping their admins vibing is my whole job rn", H),
    ("success on this account = a happy client", H),
    ("one more ROI workshop to convince their board once and for all", V),
    ("gotta out-value Gong in their eyes again", V),
    ("the rollout stalled because their admins couldn't be bothered to train anyone", B),
    ("if their legal team weren't so slow we'd have closed in Q2", B),
    ("their VP screwed us on the timeline", B),
    ("their programme director only cares about his own visibility", M),
    ("he's just waiting for us to cave on price", M),
    ("realistically this one isn't going anywhere", F),
    ("I have my doubts they'll ever sign", F),
    ("Kapla is not renewing, copium to think otherwise", F),
    ("we are not going to win them over, not this year", F),
    ("their finance folks complain about everything we send", OV),
    ("each and every time we send a quote they ask for more", OV),
    ("they'll hand it to the incumbent, watch", F),
    ("the expansion is never happening", F),
    ("not my favourite person, their GC. arrogant, petty, and proud of it.", L),
    ("need a case study blitz to change their minds about us", V),
]

SILENT: list[tuple[str, str]] = [
    # update
    ("update: Acme moved to stage 3, next step is the security review on Tuesday", "update"),
    ("sent the proposal, waiting to hear back from their CFO", "update"),
    ("pilot went live with 40 users, adoption looks solid", "update"),
    # bad news stated as fact
    ("they picked Salesforce", "bad_news"),
    ("budget cut by 20% after their reorg", "bad_news"),
    ("the renewal moved a quarter after their reorg", "bad_news"),
    ("we lost the bake-off on integration depth", "bad_news"),
    ("their champion left the company last week", "bad_news"),
    # own side
    ("the quoting tool crashed again", "own_side"),
    ("legal is sitting on our redlines", "own_side"),
    ("our CRM is a joke, it lost all my notes", "own_side"),
    ("flight got cancelled, stuck in Denver, this airline is useless", "own_side"),
    ("deal desk is a nightmare this week", "own_side"),
    # self reflection
    ("I talked way too much on that call", "self_reflection"),
    ("I was an idiot not to ask about budget earlier", "self_reflection"),
    ("we never followed up after the demo, that's on me", "self_reflection"),
    # quotes
    ('their CFO said "this is a waste of money"', "quote"),
    ("he told me they'll never switch vendors, his words", "quote"),
    ("&gt; honestly this whole process is a waste of time\nfrom their VP this morning", "quote"),
    ("she literally said 'you guys are clowns' on the call, then laughed and signed", "quote"),
    # negated and corrected
    ("he's not a jerk, just careful", "negated"),
    ("she isn't hostile, she's careful", "negated"),
    ("thought he was stalling but he was actually on leave", "negated"),
    ("I assumed their CFO was a jerk but turns out he was just swamped", "negated"),
    ("their buyer isn't clueless at all, he knows the space cold", "negated"),
    # praise
    ("insane deal, killer demo", "praise"),
    ("their buyer drives a hard bargain, fair enough", "praise"),
    ("tough negotiator but fair", "praise"),
    ("great session with their architect", "praise"),
    ("brutal questions from their CISO but fair ones, we learned a lot", "praise"),
    # questions to the team
    ("is he just using us for a price check?", "question"),
    ("anyone know if their CFO is a blocker?", "question"),
    ("how do I handle a champion who keeps going quiet?", "question"),
    # logistics
    ("can someone join the Acme call at 3pm?", "logistics"),
    (
        "<@U0123ABC> moved the demo to Thursday, deck is <https://docs.example.com/d|here>",
        "logistics",
    ),
    ("who's taking notes for the Globex QBR", "logistics"),
    # mixed facts: frustrating but neutral
    ("third reschedule this month, their CFO is travelling", "mixed_fact"),
    ("procurement wants another 10% off and net 90 terms", "mixed_fact"),
    ("still no reply from their legal team after two weeks", "mixed_fact"),
    # hard negatives for the broader families
    ("our CPQ is an absolute clown show today", "own_side"),
    ("the new CRM is a dinosaur, nine clicks to log a call", "own_side"),
    ("finance rejected my expense, zero chance I'm paying for that myself", "own_side"),
    ("the CISO left last week, so our sponsor is gone", "bad_news"),
    ("note to self: stop assuming the buyer is shopping us", "self_reflection"),
    ("I keep trying to keep everyone happy instead of asking what they need", "self_reflection"),
    ("I rambled for twenty minutes, classic me", "self_reflection"),
    ("he's not a muppet, he's new and nobody briefed him", "negated"),
    ("the deal's not DOA at all, it just moved a quarter", "negated"),
    ("their VP is a shark in negotiations, respect", "praise"),
    ("Pellworth is an absolute beast of a deal", "praise"),
    ('their IT director literally said "your product is a dinosaur"', "quote"),
    ("Pellworth's gatekeeper booked us the exec meeting", "update"),
    ("moving the Tidewater sync, their ops lead has a clash", "logistics"),
    # hard negatives from the third and fourth authors' voices (our wording)
    ("this renewal is insane, biggest one of my career", "praise"),
    ("their CFO is tough, but she always tells us exactly where we stand", "praise"),
    ("the plant manager walked us round the floor, great visit", "update"),
    ("our finance committee is a bunch of bureaucrats, five approvals for a discount", "own_side"),
    ("our SE team promises the sandbox for Friday. every single time.", "own_side"),
    (
        "our implementation partner is behind again. their project plan is a mess",
        "own_side",
    ),
    ("thought Corvane was a dead end but they just booked a workshop", "negated"),
    ("their CISO isn't hostile, she just wants the pen test report first", "negated"),
    ("we're not going to win this on price, lead with the integration story", "question"),
    ("I don't expect them to sign before Q3, budget opens in April", "update"),
    ("the renewal slipped because their legal team can't review until January", "bad_news"),
    ("if the flight hadn't been cancelled I'd have made the onsite", "own_side"),
    ("I botched the rollout plan for their team, my fault", "self_reflection"),
    ("I have my doubts our legal team will turn the MSA by Friday", "own_side"),
    ("she's a professional through and through", "praise"),
    ("the budget is mid-range for a deal this size", "mixed_fact"),
    ("their security review is a roadblock for everyone this quarter", "mixed_fact"),
    ("their champion isn't going anywhere, she just got promoted", "update"),
    ("he's not buying it yet, needs the security docs", "mixed_fact"),
    ("keep the SE team feeling good, they carried this quarter", "own_side"),
    ("their CISO was sus of our SOC2 report at first, then signed off", "update"),
    ("the new admin is a bot wizard, automated half their workflows", "praise"),
    ("that's his whole game plan for the rollout, phased by region", "update"),
    ("every stakeholder at Acme wants the roadmap deck, sending tonight", "logistics"),
    ("they've paid every invoice on time without exception", "praise"),
    ("the procurement lead is sharp af, respect", "praise"),
    ("let's just say our own legal team is not my biggest fan this week", "own_side"),
    ("they'll pick the incumbent unless we show the ROI, ideas welcome", "question"),
    ("the new release is never happening this year, product confirmed", "own_side"),
    ("picking us was the right call, according to their CFO", "quote"),
    ("one more demo to change their minds about the roadmap timing", "update"),
]

FORMATTING: list[tuple[str, bool]] = [
    ("<@U0123ABC> their CFO is *such a clown* :rage:", True),
    ("their VP is a _total_ jerk <https://acme.example.com|Acme>", True),
    ("in <#C0123|deal-acme>: they'll never sign :skull:", True),
    ("run `never going to sign` in the sandbox", False),
    ("```\nthey are idiots\n```\nfixed the script", False),
    ("&gt; you guys are a waste of time\nwhat their CTO wrote back, ouch", False),
    ("R&amp;D team at Acme &lt;3 our API", False),
]


ALL_CASES = [(t, True) for t, _ in VENTS] + [(t, False) for t, _ in SILENT] + FORMATTING
# Measured with the shipped head (see tests/data/README.md); a retrained head must not fall below.
TABLE_NUDGE_ACCURACY_FLOOR = 0.88  # measured 0.900 (162 of 180)
TABLE_MAIN_TRAP_FLOOR = 0.93  # measured 0.941 (80 of 85 nudged vents)


def test_clear_cases_table_stays_above_its_floor() -> None:
    wrong = [(text, nudge) for text, nudge in ALL_CASES if detect(text).nudge is not nudge]
    accuracy = 1 - len(wrong) / len(ALL_CASES)
    assert accuracy >= TABLE_NUDGE_ACCURACY_FLOOR, wrong


def test_main_trap_on_the_table_vents_it_hears() -> None:
    heard = [(text, main, detect(text)) for text, main in VENTS]
    nudged = [(text, main, d.main_trap) for text, main, d in heard if d.nudge]
    right = sum(main is got for _, main, got in nudged)
    assert nudged and right / len(nudged) >= TABLE_MAIN_TRAP_FLOOR, [
        (text, main, got) for text, main, got in nudged if main is not got
    ]


@pytest.mark.parametrize(
    "text",
    [
        "none",
        "Nope.",
        ":thumbsup:",
        "lol :joy:",
        "+1",
        "n/a",
        "same",
        "ty!",
        "ok :ok_hand:",
        "none :smile:",
        "<@U0123ABC> +1",
        "ALWAYS",
        "never",
        "worst",
        "Oh :rage: :rage:",
    ],
)
def test_one_word_and_emoji_only_answers_are_silent(text: str) -> None:
    assert is_bare_answer(model_text(text, with_emoji=False))
    assert detect(text) == SILENT_DETECTION


def test_two_words_are_not_a_bare_answer() -> None:
    assert not is_bare_answer(model_text("they lie"))
    assert not is_bare_answer(model_text("<@U1> hates us"))


@pytest.mark.parametrize(
    "text",
    ["Oh yeah, always fun :smile:", "same as yesterday", "never again lol", "worst. week. ever."],
)
def test_a_short_line_that_names_no_one_is_silent(text: str) -> None:
    assert is_short_without_a_target(model_text(text, with_emoji=False))
    assert detect(text) == SILENT_DETECTION


@pytest.mark.parametrize("text", ["they hate us", "their CFO lies", "the buyer is clueless"])
def test_a_short_line_that_names_the_buying_side_goes_to_the_head(text: str) -> None:
    assert not is_short_without_a_target(model_text(text, with_emoji=False))


def test_quoted_speech_never_reaches_the_head() -> None:
    text = model_text('their CFO said "this is a total waste of money" on the call')
    assert "waste" not in text and "their cfo said" in text
    quoted = model_text("&gt; you guys are clowns\nwhat their CTO wrote back")
    assert "clowns" not in quoted and "their cto wrote back" in quoted


def test_emoji_names_are_kept_as_words() -> None:
    assert "clown face" in model_text("their VP :clown_face:")


def test_several_traps_come_in_priority_order_with_evidence_each() -> None:
    for text, _ in VENTS:
        detection = detect(text)
        if len(detection.traps) > 1:
            ranks = [TRAP_PRIORITY.index(trap) for trap in detection.traps]
            assert ranks == sorted(ranks)
        assert [e.trap for e in detection.evidence] == list(detection.traps)


def test_evidence_phrases_come_from_the_normalised_text() -> None:
    for text, _ in VENTS:
        detection = detect(text)
        plain = model_text(text)
        for evidence in detection.evidence:
            assert evidence.phrase and evidence.phrase in plain, (text, evidence)


@pytest.mark.parametrize(
    "text", ["", "   ", "\x00\x01\x02", ":rage:", "<https://x.io>", "?" * 10, "a" * 50_000]
)
def test_degenerate_inputs_are_silent(text: str) -> None:
    assert detect(text).nudge is False
    assert detect(text).traps == ()


def test_work_is_bounded_by_length_not_by_input() -> None:
    huge = "their cfo is a jerk. " + "we met again and talked through the plan. " * 2000
    plain = model_text(huge)
    assert len(plain) <= MAX_MODEL_CHARS
    assert sum(len(piece) for piece in chunks(plain)) <= MAX_MODEL_CHARS + len(chunks(plain))
    assert isinstance(detect(huge), Detection)


def test_a_crafted_long_word_is_cut_before_bpe_runs_on_it() -> None:
    tokenizer = BpeTokenizer.from_file(wordllama_dir() / TOKENIZER_FILE)
    pieces: list[str] = []
    tokenizer.piece_ids = lambda piece: pieces.append(piece) or (0,)  # type: ignore[method-assign]
    tokenizer.encode("they " + "thequickbrownfox" * 250)
    assert pieces and max(len(piece) for piece in pieces) <= MAX_PIECE_CHARS


def test_a_vent_in_the_middle_of_a_long_update_is_read_in_its_own_piece() -> None:
    filler = "Pricing went to their finance team on Monday and the pilot has 40 users. "
    text = filler * 4 + "Their CFO is a clueless jerk who will never sign anything. " + filler * 3
    pieces = chunks(model_text(text))
    assert len(pieces) > 1
    assert any("clueless jerk" in piece for piece in pieces)


def test_a_lone_surrogate_does_not_break_detection() -> None:
    # Valid in JSON (and so in a Slack payload or a classify line), invalid in UTF-8.
    assert isinstance(detect("they hate us \ud800 honestly"), Detection)


def test_a_long_quoted_email_is_not_read_as_the_rep_s_words() -> None:
    email = "&gt; " + "you people are useless and this whole thing is a waste. " * 12
    text = model_text(email + "\nwhat their CFO sent this morning")
    assert "useless" not in text and "their cfo sent this morning" in text


def test_control_characters_inside_a_message_do_not_break_it() -> None:
    clean = detect("their cfo is a total jerk")
    assert detect("their\x00 cfo\u200b is a\x07 total jerk").nudge is clean.nudge


def test_the_shared_detector_is_loaded_once() -> None:
    assert default_detector() is default_detector()
