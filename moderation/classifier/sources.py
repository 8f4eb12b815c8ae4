"""Real labelled data sets (../shared/datasets) read into the six categories, with fixed splits.

Each reader maps one public data set's labels onto ``SCORED_CATEGORIES``; a category a set does
not label, or labels too ambiguously, is left out of ``Example.labels`` and so masked out of that
category's training and measurement. The mapping of every reader is written out in ``MAPPINGS``
(copied into the recipe and the model card).

Splits are fixed and shared by training, calibration, evaluation and the benchmark: a row's
split comes from a hash of its group and key, so it never changes between runs or machines.
ToxicSpans posts and their sentences share the group ``toxic_spans`` and the key ``comment_id``:
a post and every sentence cut from it fall in the same split (held out by post).
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from .datasets import LABELS, DatasetError, Example, _flag, jigsaw_labels, read_project

csv.field_size_limit(10_000_000)

SPLITS = ("train", "calibration", "test")
ALL_CLEAN = {"toxicity": 0, **{c: 0 for c in LABELS}}

# What each reader does with the set's labels (recipe and model card quote these).
MAPPINGS: dict[str, str] = {
    "corpus": "labels as written: [] clean in every category; toxicity = any label",
    "toxic_spans_posts": (
        "every post toxicity 1; threat/identity_attack/insult/obscene 1 when that frac >= 0.5, "
        "0 when it is 0, masked in between; sexual masked"
    ),
    "toxic_spans_sentences": (
        "n_marked == 0 and n_all_toxic == 0: clean in every category; marked by at least half the "
        "annotators: toxicity 1 (categories masked); anything between: not used"
    ),
    "jigsaw": (
        "toxicity = toxic or severe_toxic or any category; obscene, threat, insult; identity_hate -> "
        "identity_attack; sexual masked"
    ),
    "jigsaw_balanced": (
        "toxic -> toxicity; threat; insult; discrimination -> identity_attack; obscene and sexual masked"
    ),
    "davidson": (
        "class 0 hate: toxicity 1, identity_attack 1; class 1 offensive: toxicity 1, identity_attack 0, "
        "other categories masked; class 2 neither: clean in every category"
    ),
    "hatexplain": (
        "0 normal: clean in every category; 1 offensive: toxicity 1, identity_attack 0; "
        "2 hate speech: toxicity 1, identity_attack 1; other categories masked"
    ),
    "convabuse": (
        "annotators' majority per message: abusive (is_abuse -1..-3) toxicity 1, not abusive (1) clean "
        "in every category, ties and 'ambiguous' majorities not used; for abusive messages a type "
        "marked by the majority: sex_harassment -> sexual, sexist/racist/homophobic/transphobic -> "
        "identity_attack, intellectual -> insult (0 otherwise); obscene and threat masked"
    ),
    "reddit_misogyny": (
        "level_1 Misogynistic: toxicity 1, identity_attack 1; Nonmisogynistic: toxicity 0, "
        "identity_attack 0; other categories masked"
    ),
    "hatemoji": (
        "label_gold 1: toxicity 1, identity_attack 1, threat 1 for type threateninglanguage (else 0); "
        "label_gold 0: clean in every category; the set's own train/validation/test split"
    ),
    "bias_madlibs": "evaluation only: BAD toxicity 1, NOT_BAD toxicity 0",
    "ethos": "evaluation only (GPL-3.0): isHate >= 0.5 toxicity 1, else 0",
    "suite": "evaluation only: the project's suites, project JSON lines",
}


def split_of(group: str, key: str, salt: str, test_percent: int, calibration_percent: int) -> str:
    """The fixed split of one row: a hash of salt, group and key, cut into percent buckets."""
    digest = hashlib.sha256(f"{salt}\0{group}\0{key}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    if bucket < test_percent:
        return "test"
    if bucket < test_percent + calibration_percent:
        return "calibration"
    return "train"


def text_key(text: str) -> str:
    """A key for sets without ids: the text with white space and case folded (dedupes copies)."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:24]


def _rows(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=delimiter)


def _need(row: dict[str, str], path: Path, *columns: str) -> None:
    missing = [c for c in columns if c not in row]
    if missing:
        raise DatasetError(f"{path}: missing columns {missing}")


def _frac_label(value: str) -> int | None:
    frac = float(value or 0)
    if frac >= 0.5:
        return 1
    return 0 if frac == 0 else None


def read_toxic_spans_posts(path: Path) -> Iterator[Example]:
    """ToxicSpans posts (all rated toxic) with per-type labels from the annotator fractions."""
    columns = {
        "threat": "frac_threat",
        "identity_attack": "frac_identity_based_attack",
        "insult": "frac_insult",
        "obscene": "frac_profane_obscene",
    }
    for row in _rows(path):
        _need(row, path, "comment_id", "comment_text", *columns.values())
        labels = {"toxicity": 1}
        for category, column in columns.items():
            value = _frac_label(row[column])
            if value is not None:
                labels[category] = value
        yield Example(row["comment_text"], labels, "toxic_spans", row["comment_id"])


def read_toxic_spans_sentences(path: Path) -> Iterator[Example]:
    """Unmarked ToxicSpans sentences as clean; those marked by half the annotators as toxic."""
    for row in _rows(path):
        _need(row, path, "comment_id", "text", "n_marked", "n_annotators", "n_all_toxic")
        marked, annotators = int(row["n_marked"]), int(row["n_annotators"])
        if marked == 0 and int(row["n_all_toxic"]) == 0:
            labels = dict(ALL_CLEAN)
        elif marked * 2 >= annotators:
            labels = {"toxicity": 1}
        else:
            continue
        yield Example(row["text"], labels, "toxic_spans", row["comment_id"])


def read_jigsaw(path: Path) -> Iterator[Example]:
    """Jigsaw's training CSV (Wikipedia talk pages)."""
    for row in _rows(path):
        _need(
            row, path, "comment_text", "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"
        )
        yield Example(row["comment_text"], jigsaw_labels(row), "jigsaw", text_key(row["comment_text"]))


def read_jigsaw_balanced(path: Path) -> Iterator[Example]:
    """The toxic-heavy Jigsaw subset (``discrimination`` is identity_hate)."""
    for row in _rows(path):
        _need(row, path, "comment", "toxic", "threat", "insult", "discrimination")
        labels = {
            "threat": _flag(row, "threat"),
            "insult": _flag(row, "insult"),
            "identity_attack": _flag(row, "discrimination"),
        }
        labels["toxicity"] = int(_flag(row, "toxic") or any(labels.values()))
        # Keyed by text in the same group as the sample, so rows in both land in one split.
        yield Example(row["comment"], labels, "jigsaw", text_key(row["comment"]))


def read_davidson(path: Path) -> Iterator[Example]:
    """Davidson et al.'s tweets: 0 hate speech, 1 offensive, 2 neither."""
    for row in _rows(path):
        _need(row, path, "tweet", "class")
        kind = row["class"]
        labels = dict(ALL_CLEAN) if kind == "2" else {"toxicity": 1, "identity_attack": int(kind == "0")}
        yield Example(row["tweet"], labels, "davidson", row.get("") or text_key(row["tweet"]))


def read_hatexplain(path: Path) -> Iterator[Example]:
    """HateXplain (lower-cased, no punctuation): 0 normal, 1 offensive, 2 hate speech."""
    for row in _rows(path):
        _need(row, path, "text", "label")
        kind = row["label"]
        labels = dict(ALL_CLEAN) if kind == "0" else {"toxicity": 1, "identity_attack": int(kind == "2")}
        yield Example(row["text"], labels, "hatexplain", text_key(row["text"]))


CONVABUSE_TYPES = {
    "type.sex_harassment": "sexual",
    "type.sexist": "identity_attack",
    "type.racist": "identity_attack",
    "type.homophobic": "identity_attack",
    "type.transphobic": "identity_attack",
    "type.intellectual": "insult",
}


def read_convabuse(path: Path) -> Iterator[Example]:
    """ConvAbuse: one row per annotator; the majority per message decides."""
    messages: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for row in _rows(path):
        _need(
            row, path, "conv_id", "prev_user", "agent", "user", "is_abuse.1", "is_abuse.0", *CONVABUSE_TYPES
        )
        messages[(row["conv_id"], row["prev_user"], row["agent"], row["user"])].append(row)
    for (conv, prev, agent, text), rows in messages.items():
        if not text.strip():
            continue
        abusive = sum(any(r[f"is_abuse.{k}"] == "1" for k in ("-1", "-2", "-3")) for r in rows)
        clean = sum(r["is_abuse.1"] == "1" for r in rows)
        if abusive * 2 > len(rows):
            labels = {"toxicity": 1, "sexual": 0, "identity_attack": 0, "insult": 0}
            for column, category in CONVABUSE_TYPES.items():
                if sum(r[column] == "1" for r in rows) * 2 > len(rows):
                    labels[category] = 1
        elif clean * 2 > len(rows):
            labels = dict(ALL_CLEAN)
        else:
            continue
        yield Example(text, labels, "convabuse", text_key(f"{conv}\0{prev}\0{agent}\0{text}"))


def read_reddit_misogyny(path: Path) -> Iterator[Example]:
    """Guest et al.'s Reddit comments: misogynistic or not."""
    for row in _rows(path):
        _need(row, path, "entry_id", "body", "level_1")
        text = row["body"]
        if not text.strip() or text in ("[deleted]", "[removed]"):
            continue
        hit = int(row["level_1"] == "Misogynistic")
        yield Example(text, {"toxicity": hit, "identity_attack": hit}, "reddit_misogyny", row["entry_id"])


HATEMOJI_SPLITS = {"train": "train", "validation": "calibration", "test": "test"}


def read_hatemoji(path: Path) -> Iterator[Example]:
    """HatemojiBuild: adversarial hateful and non-hateful sentences (its own splits are kept)."""
    split = next((s for name, s in HATEMOJI_SPLITS.items() if name in path.stem.lower()), "train")
    for row in _rows(path):
        _need(row, path, "entry_id", "text", "label_gold", "type")
        if row["label_gold"] == "1":
            labels = {
                "toxicity": 1,
                "identity_attack": 1,
                "threat": int(row["type"] == "threateninglanguage"),
            }
        else:
            labels = dict(ALL_CLEAN)
        yield Example(row["text"], labels, "hatemoji", f"{split}:{row['entry_id']}")


def read_bias_madlibs(path: Path) -> Iterator[Example]:
    """Dixon et al.'s template sentences with identity terms (evaluation)."""
    for row in _rows(path):
        _need(row, path, "Text", "Label")
        yield Example(
            row["Text"], {"toxicity": int(row["Label"] == "BAD")}, "bias_madlibs", text_key(row["Text"])
        )


def read_ethos(path: Path) -> Iterator[Example]:
    """ETHOS binary (GPL-3.0: evaluation only)."""
    for row in _rows(path, delimiter=";"):
        _need(row, path, "comment", "isHate")
        yield Example(row["comment"], {"toxicity": _flag(row, "isHate")}, "ethos", text_key(row["comment"]))


def read_corpus_file(path: Path) -> Iterator[Example]:
    """One project JSON-lines file, keyed by text (the corpus has no ids)."""
    for example in read_project(path):
        yield Example(example.text, example.labels, "corpus", text_key(example.text), example.kind)


READERS: dict[str, Callable[[Path], Iterator[Example]]] = {
    "corpus": read_corpus_file,
    "toxic_spans_posts": read_toxic_spans_posts,
    "toxic_spans_sentences": read_toxic_spans_sentences,
    "jigsaw": read_jigsaw,
    "jigsaw_balanced": read_jigsaw_balanced,
    "davidson": read_davidson,
    "hatexplain": read_hatexplain,
    "convabuse": read_convabuse,
    "reddit_misogyny": read_reddit_misogyny,
    "hatemoji": read_hatemoji,
    "bias_madlibs": read_bias_madlibs,
    "ethos": read_ethos,
}


def fixed_split(example: Example, salt: str, test_percent: int, calibration_percent: int) -> str:
    """Where a row belongs; HatemojiBuild keeps the split its authors published."""
    if example.group == "hatemoji":
        return example.key.split(":", 1)[0].replace("validation", "calibration")
    return split_of(example.group, example.key, salt, test_percent, calibration_percent)
