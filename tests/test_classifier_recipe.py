"""Training from a recipe: data files with hashes, label mappings, fixed splits, weights, calibration."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

from moderation.categories import Action
from moderation.classifier import artifact
from moderation.classifier.calibrate import Measured, MlRule, choose, ml_rules, write_thresholds
from moderation.classifier.estimators import CalibratedLinearMultiLabel
from moderation.classifier.recipe import (
    RecipeError,
    check_files,
    load_recipe,
    split_sources,
    training_rows,
)
from moderation.classifier.sources import (
    read_convabuse,
    read_toxic_spans_posts,
    read_toxic_spans_sentences,
    split_of,
)
from moderation.config import PROJECT_ROOT
from moderation.rules import load_rules

SPANS_HEADER = (
    "comment_id,comment_text,n_annotators,frac_identity_based_attack,frac_insult,"
    "frac_profane_obscene,frac_threat\n"
)
INSULTS = ["you pathetic idiot", "what a brainless moron", "shut up you clown", "you utter fool"]
THREATS = ["i will hurt you badly", "we will find you and hurt you"]


def _datasets(root: Path) -> Path:
    """Tiny files in the real sets' formats."""
    spans = root / "toxic_spans"
    spans.mkdir(parents=True)
    posts = [SPANS_HEADER]
    sentences = ["comment_id,start,end,text,n_annotators,n_marked,span_types,n_all_toxic\n"]
    for i in range(40):
        text = INSULTS[i % 4] if i % 5 else THREATS[i % 2]
        threat = "0.0" if i % 5 else "0.6666"
        posts.append(f'{100 + i},"{text}. The council vote is on Monday.",3,0.0,0.6666,0.0,{threat}\n')
        sentences.append(f'{100 + i},0,10,"{text}.",3,3,Insult,1\n')
        sentences.append(f'{100 + i},12,40,"The council vote is on Monday.",3,0,,0\n')
        sentences.append(f'{100 + i},41,60,"Half marked, unused.",3,1,Insult,0\n')
    (spans / "comment_labels.csv").write_text("".join(posts))
    (spans / "sentences.csv").write_text("".join(sentences))
    jig = root / "jigsaw_sample"
    jig.mkdir()
    rows = ["id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate\n"]
    rows += [f'{i},"fix the citation in section {i}",0,0,0,0,0,0\n' for i in range(30)]
    rows += [f'{i + 30},"{INSULTS[i % 4]} number {i}",1,0,0,0,1,0\n' for i in range(30)]
    (jig / "jigsaw_sample.csv").write_text("".join(rows))
    return root


def _recipe(tmp_path: Path, datasets: Path) -> Path:
    recipe = {
        "datasets_root": str(datasets),
        "split": {"salt": "test", "test_percent": 20, "calibration_percent": 20},
        "parameters": {"C": 1.0, "min_df": 1, "calibration_folds": 2},
        "sources": [
            {
                "name": "corpus",
                "reader": "corpus",
                "root": "project",
                "files": [{"path": str(FIXTURES / "tiny_corpus" / "tiny.jsonl")}],
                "weight": {"toxic": 1.0, "clean": 1.0},
            },
            {
                "name": "toxic_spans_posts",
                "reader": "toxic_spans_posts",
                "files": [{"path": "toxic_spans/comment_labels.csv"}],
                "weight": {"toxic": 1.0, "clean": 0.0},
            },
            {
                "name": "toxic_spans_sentences",
                "reader": "toxic_spans_sentences",
                "files": [{"path": "toxic_spans/sentences.csv"}],
                "weight": {"toxic": 0.5, "clean": 1.0},
            },
            {
                "name": "jigsaw_sample",
                "reader": "jigsaw",
                "files": [{"path": "jigsaw_sample/jigsaw_sample.csv"}],
                "weight": {"toxic": 0.5, "clean": 0.5},
            },
        ],
    }
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    return path


@pytest.fixture
def recipe_file(tmp_path: Path) -> Path:
    return _recipe(tmp_path, _datasets(tmp_path / "datasets"))


def test_toxic_spans_mapping_masks_ambiguous_fractions(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(SPANS_HEADER + '1,"a",3,0.0,0.3333,0.6666,0.0\n')
    (post,) = read_toxic_spans_posts(path)
    assert post.labels == {"toxicity": 1, "identity_attack": 0, "obscene": 1, "threat": 0}
    assert "insult" not in post.labels  # one annotator in three: neither a yes nor a no
    assert "sexual" not in post.labels  # ToxicSpans does not label it


def test_sentences_unmarked_are_clean_marked_by_half_are_toxic_rest_unused(recipe_file: Path) -> None:
    rows = list(read_toxic_spans_sentences(recipe_file.parent / "datasets" / "toxic_spans" / "sentences.csv"))
    texts = {e.text: e.labels for e in rows}
    assert texts["The council vote is on Monday."]["toxicity"] == 0
    assert all(v == 0 for v in texts["The council vote is on Monday."].values())
    assert texts["you pathetic idiot."] == {"toxicity": 1}
    assert "Half marked, unused." not in texts


def test_convabuse_takes_the_majority_per_message(tmp_path: Path) -> None:
    head = (
        "example_no,annotator_id,conv_id,prev_agent,prev_user,agent,user,bot,is_abuse.1,is_abuse.0,"
        "is_abuse.-1,is_abuse.-2,is_abuse.-3,type.ableism,type.homophobic,type.intellectual,type.racist,"
        "type.sexist,type.sex_harassment,type.transphobic\n"
    )
    rows = [
        "0,a,1,,,hi,you are stupid,B,0,0,1,0,0,0,0,1,0,0,0,0\n",
        "1,b,1,,,hi,you are stupid,B,0,0,0,1,0,0,0,1,0,0,0,0\n",
        "2,c,1,,,hi,you are stupid,B,1,0,0,0,0,0,0,0,0,0,0,0\n",
        "3,a,2,,,hi,hello there,B,1,0,0,0,0,0,0,0,0,0,0,0\n",
        "4,b,2,,,hi,hello there,B,1,0,0,0,0,0,0,0,0,0,0,0\n",
        "5,a,3,,,hi,maybe rude,B,1,0,0,0,0,0,0,0,0,0,0,0\n",
        "6,b,3,,,hi,maybe rude,B,0,0,1,0,0,0,0,0,0,0,0,0\n",
    ]
    path = tmp_path / "conv.csv"
    path.write_text(head + "".join(rows))
    found = {e.text: e.labels for e in read_convabuse(path)}
    assert found["you are stupid"]["toxicity"] == 1 and found["you are stupid"]["insult"] == 1
    assert found["you are stupid"]["sexual"] == 0
    assert found["hello there"]["toxicity"] == 0
    assert "maybe rude" not in found  # a tie is no majority


def test_splits_are_fixed_and_hold_out_by_post(recipe_file: Path) -> None:
    assert split_of("g", "k", "s", 20, 20) == split_of("g", "k", "s", 20, 20)
    shares = [split_of("g", str(i), "s", 20, 20) for i in range(5000)]
    assert 0.17 < shares.count("test") / 5000 < 0.23
    recipe = load_recipe(recipe_file)
    split = split_sources(recipe)
    where = {}
    for name in ("toxic_spans_posts", "toxic_spans_sentences"):
        for part, rows in split.rows[name].items():
            for e in rows:
                where.setdefault(e.key, set()).add(part)
    assert all(len(parts) == 1 for parts in where.values())  # a post and its sentences: one split


def test_source_weights_are_shares_of_the_training_weight(recipe_file: Path) -> None:
    recipe = load_recipe(recipe_file)
    examples, weights, used = training_rows(recipe, split_sources(recipe))
    total = weights.sum()
    posts = sum(
        w
        for e, w in zip(examples, weights, strict=True)
        if e.text.endswith("Monday.") and e.labels["toxicity"]
    )
    # posts carry toxic share 1.0 of the 5.5 shares in all
    assert posts / total == pytest.approx(1.0 / 5.5, rel=1e-6)
    assert set(used) == {"corpus", "toxic_spans_posts", "toxic_spans_sentences", "jigsaw_sample"}
    assert all(e.labels.get("toxicity") is not None for e in examples)


def test_unlabelled_categories_are_masked_not_negative() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = (X[:, 0] > 0).astype(int)
    Y = np.c_[y, y]
    Y[:40, 1] = -1  # the second category is unlabelled in half the rows
    model = CalibratedLinearMultiLabel(categories=("a", "b"), cv=0).fit(X, Y)
    subset = CalibratedLinearMultiLabel(categories=("b",), cv=0).fit(X[40:], Y[40:, 1:])
    as_negative = CalibratedLinearMultiLabel(categories=("b",), cv=0).fit(X, np.maximum(Y[:, 1:], 0))
    assert np.allclose(model.coef_[:, 1], subset.coef_[:, 0], atol=1e-4)
    assert not np.allclose(model.coef_[:, 1], as_negative.coef_[:, 0], atol=1e-2)


def _train(runner, recipe: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["model", "train", "--recipe", str(recipe), "--out", str(out), *extra])


def test_train_from_recipe_records_hashes_and_reproduces(make_app, recipe_file: Path, tmp_path: Path) -> None:
    runner = make_app().test_cli_runner()
    out = tmp_path / "m.skops"
    result = _train(runner, recipe_file, out, "--record")
    assert result.exit_code == 0, result.output
    recipe = json.loads(recipe_file.read_text())
    spans = recipe["sources"][1]
    data = recipe_file.parent / "datasets" / "toxic_spans" / "comment_labels.csv"
    assert spans["files"][0]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert spans["rows"] == {
        part: len(rows)
        for part, rows in split_sources(load_recipe(recipe_file)).rows["toxic_spans_posts"].items()
    }
    assert "frac >= 0.5" in spans["labels"]
    meta = artifact.read_metadata(out)
    assert meta["recipe"]["sha256"] == hashlib.sha256(recipe_file.read_bytes()).hexdigest()
    assert (
        meta["recipe"]["data_sha256"]["toxic_spans_posts:toxic_spans/comment_labels.csv"]
        == (spans["files"][0]["sha256"])
    )
    assert meta["artifact_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert meta["training_rows"]["toxic_spans_posts"]["train_rows"]["clean"] == 0

    again = tmp_path / "again.skops"
    assert _train(runner, recipe_file, again).exit_code == 0  # without --record: hashes must match
    texts = ["you pathetic idiot", "The council vote is on Monday."]
    first, second = artifact.load(out).predict_proba(texts), artifact.load(again).predict_proba(texts)
    assert np.allclose(first, second)
    assert first[0, 0] > first[1, 0]


def test_missing_or_changed_data_file_is_named(make_app, recipe_file: Path, tmp_path: Path) -> None:
    runner = make_app().test_cli_runner()
    assert _train(runner, recipe_file, tmp_path / "m.skops", "--record").exit_code == 0
    data = recipe_file.parent / "datasets" / "jigsaw_sample" / "jigsaw_sample.csv"
    with data.open("a") as handle:
        handle.write('999,"one more",0,0,0,0,0,0\n')
    changed = _train(runner, recipe_file, tmp_path / "x.skops")
    assert changed.exit_code == 1
    assert "jigsaw_sample.csv has changed" in changed.stderr
    data.unlink()
    missing = _train(runner, recipe_file, tmp_path / "x.skops")
    assert missing.exit_code == 1
    assert "missing data file for source 'jigsaw_sample'" in missing.stderr
    assert str(data) in missing.stderr
    other = _train(runner, recipe_file, tmp_path / "x.skops", "--datasets", str(tmp_path / "nowhere"))
    assert other.exit_code == 1 and str(tmp_path / "nowhere") in other.stderr


def test_check_refuses_an_artifact_that_does_not_match_its_sidecar(
    make_app, tiny_model: Path, tmp_path: Path
) -> None:
    runner = make_app().test_cli_runner()
    ok = runner.invoke(args=["model", "check", "--model", str(tiny_model)])
    assert ok.exit_code == 0, ok.output
    copy = tmp_path / "m.skops"
    shutil.copy(tiny_model, copy)
    meta = json.loads(tiny_model.with_suffix(".json").read_text())
    meta["artifact_sha256"] = "0" * 64
    copy.with_suffix(".json").write_text(json.dumps(meta))
    bad = runner.invoke(args=["model", "check", "--model", str(copy)])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("Error: ") and "does not match the sha256" in bad.stderr
    assert "flask model train --recipe models/recipe.json" in bad.stderr  # how to build one


def test_calibration_stays_within_the_budget_and_buys_recall() -> None:
    rng = np.random.default_rng(1)
    clean = rng.beta(1, 8, size=(2000, 2))
    toxic = rng.beta(3, 3, size=(1000, 2))
    measured = Measured(
        scores={"ts_unmarked": clean, "ts_posts": toxic},
        base_acted={"ts_unmarked": np.zeros(2000, bool), "ts_posts": np.zeros(1000, bool)},
        base_hidden={"ts_unmarked": np.zeros(2000, bool), "ts_posts": np.zeros(1000, bool)},
    )
    rules = [
        MlRule("ml-toxicity", "toxicity", Action.FLAG, 0.5),
        MlRule("ml-toxicity-high", "toxicity", Action.HOLD, 0.9),
        MlRule("ml-insult", "insult", Action.FLAG, 0.5),
    ]
    chosen = choose(
        measured,
        rules,
        ("toxicity", "insult"),
        margin=1.0,
        budget={"ts_unmarked": (0.03, 0.005)},
        weights={"ts_posts": (1.0, 0.1)},
    )
    acted = (clean[:, 0] >= chosen["ml-toxicity"]) | (clean[:, 1] >= chosen["ml-insult"])
    hidden = clean[:, 0] >= chosen["ml-toxicity-high"]
    assert acted.mean() <= 0.03 and hidden.mean() <= 0.005
    assert acted.mean() > 0.025  # the budget is spent, not wasted
    caught = (toxic[:, 0] >= chosen["ml-toxicity"]) | (toxic[:, 1] >= chosen["ml-insult"])
    one_rule = toxic[:, 0] >= np.quantile(clean[:, 0], 0.97)  # the whole budget on toxicity alone
    assert caught.mean() > one_rule.mean() + 0.05
    assert chosen["ml-toxicity"] <= chosen["ml-toxicity-high"]


def test_calibration_keeps_every_identity_term_under_its_limit_with_margin() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    terms = np.array(["gay", "muslim", "french"] * (n // 3))
    clean = rng.beta(1, 8, size=(n, 1))
    clean[terms == "gay"] += 0.25  # one term the model scores higher, as "gay" was
    toxic = rng.beta(4, 2, size=(1000, 1))
    none = np.zeros(n, bool)
    measured = Measured(
        scores={"madlibs_not_bad": clean, "ts_posts": toxic},
        base_acted={"madlibs_not_bad": none, "ts_posts": np.zeros(1000, bool)},
        base_hidden={"madlibs_not_bad": none, "ts_posts": np.zeros(1000, bool)},
    )
    rules = [MlRule("ml-toxicity", "toxicity", Action.FLAG, 1.0)]
    chosen = choose(
        measured,
        rules,
        ("toxicity",),
        terms=list(terms),
        margin=1.0,
        budget={"madlibs_not_bad": (0.05, None)},
        weights={"ts_posts": (1.0, 0.0)},
        term_margin=0.4,
    )
    acted = clean[:, 0] >= chosen["ml-toxicity"]
    assert acted[terms == "gay"].mean() <= 0.02 * 0.4  # the worst term, with margin
    assert (toxic[:, 0] >= chosen["ml-toxicity"]).mean() > 0.2  # and recall is still bought


def test_write_thresholds_changes_only_the_ml_numbers(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    shutil.copy(PROJECT_ROOT / "rules.yaml", path)
    shutil.copytree(PROJECT_ROOT / "wordlists", tmp_path / "wordlists")
    before = load_rules(path)
    wanted = {r.id: 0.4321 for r in ml_rules(before)}
    assert "ml-toxicity" in wanted and "ml-threat" in wanted
    original = path.read_text()
    write_thresholds(path, wanted)
    after = load_rules(path)
    assert {r.id: r.threshold for r in ml_rules(after)} == wanted
    assert [r.id for r in after.rules] == [r.id for r in before.rules]
    changed = [
        (a, b) for a, b in zip(original.splitlines(), path.read_text().splitlines(), strict=True) if a != b
    ]
    assert len(changed) == len(wanted) and all("gte: 0.4321" in b for _, b in changed)
    with pytest.raises(ValueError, match="ml-nothing"):
        write_thresholds(path, {"ml-nothing": 0.5})


def test_recipe_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="no recipe at"):
        load_recipe(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sources": [{"name": "x", "reader": "nope", "files": [{"path": "a"}]}]}))
    with pytest.raises(RecipeError, match="unknown reader 'nope'"):
        load_recipe(bad)
    bad.write_text(json.dumps({"sources": [{"name": "x", "reader": "jigsaw", "files": [{"path": "a.csv"}]}]}))
    with pytest.raises(RecipeError, match="missing data file for source 'x'"):
        check_files(load_recipe(bad, tmp_path))


def test_evaluate_recipe_prints_budget_and_leave_one_source_out(
    make_app, recipe_file: Path, tmp_path: Path
) -> None:
    runner = make_app().test_cli_runner()
    out = tmp_path / "m.skops"
    assert _train(runner, recipe_file, out, "--record").exit_code == 0
    result = runner.invoke(
        args=[
            "model",
            "evaluate",
            "--recipe",
            str(recipe_file),
            "--model",
            str(out),
            "--leave-one-out",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    budget = {row["name"]: row for row in report["budget"]}
    assert budget["ts_unmarked_acted"]["n"] > 0 and budget["ts_posts_acted"]["n"] > 0
    assert budget["madlibs_acted"]["value"] is None  # no bias_madlibs in this recipe: not measured
    assert budget["jigsaw_threat_acted"]["value"] is None  # no Jigsaw row here is labeled threat
    reported = budget["corpus_threat_acted"]
    assert reported["limit"] is None and reported["ok"] is None  # reported, never a pass or a miss
    loso = report["leave_one_source_out"]
    assert set(loso) == {"corpus", "toxic_spans", "jigsaw"}  # posts and sentences leave together
    assert loso["toxic_spans"]["rows"] == 40 + 80  # every post and every used sentence, all splits
    assert 0.0 <= loso["jigsaw"]["toxicity"] <= 1.0
    assert "sexual" not in loso["jigsaw"]  # Jigsaw does not label it here
