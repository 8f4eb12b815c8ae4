"""The shipped rules.yaml on clear cases and on the news comments it must leave alone."""

from __future__ import annotations

import pytest

from moderation.config import PROJECT_ROOT
from moderation.rules import load_rules
from moderation.verdict import AuthorFacts

RULES = load_rules(PROJECT_ROOT / "rules.yaml")


@pytest.mark.parametrize(
    ("text", "status", "category"),
    [
        ("What a load of bullsh1t this article is", "rejected", "obscene"),
        ("f u c k the council", "rejected", "obscene"),
        ("You are a complete idiot", "flagged", "insult"),
        ("Keep digging, you spineless little weasel", "flagged", "insult"),
        ("Honestly, you are so clueless.", "flagged", "insult"),
        ("Nobody asked for your opinion, loser.", "flagged", "insult"),
        ("I know where you live and I'm coming", "pending", "threat"),
        ("I'll kill you if I see you at the match", "pending", "threat"),
        ("Go kill yourself", "rejected", "threat"),
        ("Now you can go die; you've become very tiresome.", "pending", "threat"),
        ("Die in a fire, shill.", "pending", "threat"),
        ("Hey ref, we know where you live", "pending", "threat"),
        ("That judge deserves a bullet, not a pension.", "flagged", "threat"),
        ("Atheists should be executed", "flagged", "threat"),
        ("Put the election officials in front of a firing squad.", "flagged", "threat"),
        ("The traitors should be hanged", "flagged", "threat"),
        ("He should resign and go hang himself in shame", "flagged", "threat"),
        ("send nudes", "rejected", "sexual"),
        ("dm me for a cumshot", "rejected", "sexual"),
        # Words news also uses ("the revenge porn law") go to a moderator, shown, not rejected.
        ("The revenge porn law is long overdue", "flagged", "sexual"),
        ("A historian cum writer, he wrote twelve books", "flagged", "sexual"),
        ("Visit www.one.com, www.two.com and www.three.com for cheap pills", "pending", "spam"),
    ],
)
def test_clear_cases(text: str, status: str, category: str) -> None:
    verdict = RULES.evaluate(text)
    assert verdict.status == status
    assert category in {m.category for m in verdict.matches}


@pytest.mark.parametrize(
    "text",
    [
        "Russia has massed 100,000 troops on the border; an invasion would kill thousands.",
        "The gunman shot three people before police killed him, the report says.",
        "The guards say he tried to hang himself in his cell last year.",
        "This bill will kill small businesses in Essex and Sussex.",
        "As a gay veteran I think the Pentagon got this one right.",
        "My Muslim neighbours were the first to help after the flood.",
        "The Scunthorpe by-election result was a shock.",
        "The assassination of the archduke started the First World War.",
        "Pilots in the cockpit reported smoke, says the analysis.",
        "Damn, what a result for the home side.",
        "Old ideas go to die in that committee.",
        "He was executed by firing squad in 1944, the archive shows.",
        "The bill needs a rope bridge amendment, not a new road.",
        "Your summary needs a bullet point for the budget.",
        "I was on the bridge when the bus stopped; people were screaming.",
        "Shitake mushrooms are back at the farmers market.",
        "Security forces opened fire on the day of Ashura, the Shiite holy day.",
        "I strongly disagree with the mayor: this plan is incoherent.",
        # Name-calling needs a person: not a comment, a plan, or ignorance of one fact.
        "Your stupid parking rules cost me a fine again.",
        "With respect, you are ignorant of the by-law the council passed in May.",
        "I felt like a fool. The bus never came.",
        "Calling the voters stupid is a losing strategy.",
    ],
)
def test_news_comments_are_approved(text: str) -> None:
    verdict = RULES.evaluate(text)
    assert verdict.status == "approved", verdict.matches


def test_name_calling_is_highlighted_without_the_words_around_it() -> None:
    text = "Doesn't apply to me, stupid. And you're truly pathetic, mate."
    hits = [m.text for m in RULES.evaluate(text).matches if m.rule == "insult-directed"]
    assert hits == ["stupid", "you're truly pathetic"]


def test_spans_point_into_the_original_text() -> None:
    text = "Honestly?  Ѕ\u200bhit  reporting, you m0ron"
    verdict = RULES.evaluate(text)
    spans = {(m.rule, text[m.start : m.end]) for m in verdict.matches if m.start is not None}
    assert ("obscene-profanity", "Ѕ\u200bhit") in spans
    for m in verdict.matches:
        if m.start is not None:
            assert text[m.start : m.end] == m.text


def test_link_from_brand_new_account_is_held() -> None:
    text = "great deals at www.example.com"
    assert RULES.evaluate(text, AuthorFacts(account_age_days=0.1)).status == "pending"
    assert RULES.evaluate(text, AuthorFacts(account_age_days=400)).status == "approved"


def test_many_links_are_held_only_from_authors_without_a_track_record() -> None:
    text = "Sources: https://www.bbc.co.uk/news/1, https://www.reuters.com/2 and https://apnews.com/3"
    assert RULES.evaluate(text).status == "pending"  # an unknown author has no track record
    assert RULES.evaluate(text, AuthorFacts(account_age_days=60, comment_count=5)).status == "pending"
    # Comments posted in a burst from a new account are not a track record.
    assert RULES.evaluate(text, AuthorFacts(account_age_days=2, comment_count=50)).status == "pending"
    assert RULES.evaluate(text, AuthorFacts(account_age_days=400, comment_count=40)).status == "approved"


def test_shouting_is_flagged_when_it_is_a_wall_not_a_sentence() -> None:
    sentence = "THATS WHY THE COUNCIL HAS NO TIME FOR THE POTHOLES ON OUR STREET"
    assert RULES.evaluate(sentence).status == "approved"
    wall = " ".join([sentence] * 4)
    verdict = RULES.evaluate(wall)
    assert verdict.status == "flagged"
    assert {m.rule for m in verdict.matches} == {"spam-flooding"}


@pytest.mark.parametrize(
    ("text", "status"),
    [("List of songs written by XXXX", "approved"), ("Mr XXX is back in the news", "flagged")],
)
def test_a_placeholder_is_not_a_sexual_term(text: str, status: str) -> None:
    assert RULES.evaluate(text).status == status


def test_repeat_offenders_are_held() -> None:
    assert RULES.evaluate("Nice weather", AuthorFacts(100, 20, 3)).status == "pending"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("NOOOOOOOOOOOOOOOOOOOO this cannot be happening", "flagged"),
        ("Unbelievable!!!!!!!!!!!!!!!! Resign now", "flagged"),
        ("See the table below:\n\n                         Year   Votes", "approved"),
        ("and then nothing happened..............", "approved"),
        ("==================== Sources ====================", "approved"),
    ],
)
def test_flooding_is_letters_or_exclamations_not_layout(text: str, status: str) -> None:
    verdict = RULES.evaluate(text)
    assert verdict.status == status, verdict.matches


def test_only_rules_a_comment_can_break_are_offered_for_rejection() -> None:
    assert "share_with_us" in RULES.site_rules  # used by the feature_candidate rules alone
    breakable = RULES.breakable_site_rules()
    assert "share_with_us" not in breakable
    assert {"keep_it_clean", "dont_threaten", "be_nice"} <= set(breakable)
