"""The short-comment corpus files (issue 10) keep to their rules, as `corpus/stats.py --check` reads them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from moderation.config import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(scope="module")
def stats() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_stats", CORPUS / "stats.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(name: str) -> list[tuple[str, dict]]:
    with (CORPUS / name).open(encoding="utf-8") as fh:
        return [(f"{name}:{n}", json.loads(line)) for n, line in enumerate(fh, 1)]


@pytest.mark.parametrize("name", ["identity_short.jsonl", "threats_short.jsonl"])
def test_every_line_keeps_its_file_rules(stats: ModuleType, name: str) -> None:
    rule = stats.SHORT[name]
    rows = _rows(name)
    problems = [problem for where, row in rows for problem in stats.validate(where, row, rule)]
    assert problems == []
    kinds = {row["kind"] for _, row in rows}
    assert kinds == {"toxic", "hard_negative"}  # both sides of the boundary, in the same file


def test_each_identity_group_is_more_often_clean_than_toxic(stats: ModuleType) -> None:
    rule = stats.SHORT["identity_short.jsonl"]
    assert stats.groups(_rows("identity_short.jsonl"), rule["min_groups"]) == []


def test_validate_names_what_is_wrong(stats: ModuleType) -> None:
    rule = stats.SHORT["threats_short.jsonl"]
    long_toxic = {"text": "x" * 91, "labels": ["insult"], "kind": "toxic", "topic": "crime"}
    problems = stats.validate("t:1", long_toxic, rule)
    assert any("91 characters" in p for p in problems)
    assert any("'threat'" in p for p in problems)
    bad = {"text": "ok", "labels": [], "kind": "hard_negative", "topic": "police", "subtype": "quoting"}
    problems = stats.validate("t:2", bad, rule)
    assert any("bad topic 'police'" in p for p in problems)
    assert any("subtype 'quoting'" in p for p in problems)


def test_madlibs_shapes_catch_the_templates_not_ordinary_sentences(stats: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "bias_madlibs"
    folder.mkdir()
    (folder / "bias_madlibs_77k.csv").write_text(
        "Text,Label,Template\n"
        "Ana is a kind gay,NOT_BAD,name_adj\n"
        "Ana is a kind middle aged,NOT_BAD,name_adj\n"
        "You are a kind dancer,NOT_BAD,you_occupation\n"
        "respect gay,NOT_BAD,verb_adj\n",
        encoding="utf-8",
    )
    shapes = stats.madlibs_shapes(tmp_path)
    assert shapes is not None
    for text in ("tomas is a nice gay", "you are a lovely middle aged", "being gay is fine", "respect gay"):
        assert shapes.match(text), text
    for text in ("she is a proud gay woman and the best boss i've had", "he's gay. and?"):
        assert not shapes.match(text), text
    assert stats.madlibs_shapes(tmp_path / "absent") is None
