"""Folding disguised text, with spans that point into the original."""

import pytest

from moderation.text.normalize import fold, normalize


@pytest.mark.parametrize(
    ("original", "folded"),
    [
        ("ѕhit", "shit"),  # Cyrillic dze for s
        ("Ѕсаm", "scam"),  # Cyrillic capitals and small letters
        ("f\u200bu\u200cc\u200dk", "fuck"),  # zero-width characters
        ("ｆｕｃｋ", "fuck"),  # fullwidth (NFKC)
        ("𝐟𝐮𝐜𝐤", "fuck"),  # mathematical bold
        ("Straße", "strasse"),  # case folding
        ("cafe\u0301", "cafe"),  # combining accent dropped
        ("naïve", "naive"),
        ("HELLO", "hello"),
        # Look-alikes of a capital I are an i, not the small L Unicode files them under.
        ("ＫＩＬＬ", "kill"),  # fullwidth capitals
        ("ΙDΙOT", "idiot"),  # Greek capital iota
        ("ІDIOT", "idiot"),  # Cyrillic capital I
        ("𝐈𝐃𝐈𝐎𝐓", "idiot"),  # mathematical bold capitals
        ("ℓol", "lol"),  # a small-L look-alike stays an L
    ],
)
def test_folds_disguises(original: str, folded: str) -> None:
    assert normalize(original).text == folded


def test_spans_map_back_to_original_text() -> None:
    text = "Well ｆ\u200bｕｃｋ that"
    norm = normalize(text)
    start = norm.text.index("fuck")
    a, b = norm.span(start, start + 4)
    assert text[a:b] == "ｆ\u200bｕｃｋ"


def test_combining_mark_belongs_to_its_letter() -> None:
    text = "x cafe\u0301 y"
    norm = normalize(text)
    start = norm.text.index("cafe")
    a, b = norm.span(start, start + 4)
    assert text[a:b] == "cafe\u0301"


def test_expansion_keeps_offsets() -> None:
    text = "ﬁne Straße idiot"
    norm = normalize(text)
    start = norm.text.index("idiot")
    a, b = norm.span(start, start + 5)
    assert text[a:b] == "idiot"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Plain ASCII, MIXED case!",
        "Ünïcödé Wörds",
        "ＦＵＬＬ ＷＩＤＴＨ",
        "\u0130stanbul",
        "ﬁne ligature",
        "a\u0301ccent",
        "🙂 x",
    ],
)
def test_fold_is_the_text_normalize_gives(text: str) -> None:
    """The classifier's preparation folds with ``fold`` (an ASCII text only lowered): the text
    ``normalize`` gives, whatever the characters."""
    assert fold(text) == normalize(text).text
