"""The Pipeline's custom steps: text preparation and a calibrated linear model per category."""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .lexicon import LexiconFeatures
from .textprep import prepare


class TextPreparer(TransformerMixin, BaseEstimator):
    """Apply ``textprep.prepare`` to each text (the rule engine's folding and more)."""

    def fit(self, X: Iterable[str], y: Any = None) -> TextPreparer:
        """Nothing to learn."""
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        """The prepared texts."""
        return [prepare(text) for text in X]


class CompactTfidfVectorizer(TfidfVectorizer):
    """A TfidfVectorizer that saves its vocabulary as one array of terms.

    skops writes a plain dict entry by entry into its JSON schema (tens of
    megabytes, seconds to load); the terms are written as one array of UTF-8
    bytes, newline-separated (a fixed-width string array of the same terms is
    padded to the longest word pair: 35 MB to inflate on every start), and
    rebuilt into the dict on load. Artifacts written with the older ``terms_``
    string array still load.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("stop_words_", None)  # only explains which terms were dropped
        state.pop("_analyzer_cache", None)  # rebuilt on first use
        state.pop("_word_ids_cache", None)
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            terms = [""] * len(vocabulary)
            for term, index in vocabulary.items():
                terms[index] = term
            if any("\n" in term for term in terms):
                raise ValueError("a vocabulary term contains a newline")
            state["terms_utf8_"] = np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)
            state["n_terms_"] = len(terms)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        packed = state.pop("terms_utf8_", None)
        count = state.pop("n_terms_", None)
        terms = state.pop("terms_", None)
        super().__setstate__(state)
        if packed is not None:
            words = packed.tobytes().decode("utf-8").split("\n") if count else []
            self.vocabulary_ = dict(zip(words, range(len(words)), strict=True))
        elif terms is not None:
            self.vocabulary_ = {term: index for index, term in enumerate(terms.tolist())}

    def transform(self, raw_documents: Any) -> sp.csr_matrix:
        """The same matrix as TfidfVectorizer.transform, without its per-call validation.

        Scoring one comment at a time made sklearn's checks cost more than the counting.
        Supports what build_pipeline uses: l2 norm, idf, optional sublinear tf. Character
        n-grams inside word boundaries (``char_wb``) are counted per word: a word's feature ids
        are computed once and kept in a per-process cache, so the words a comment section
        repeats all day (Zipf) cost one dictionary lookup instead of every n-gram's.
        """
        if self.norm != "l2" or not self.use_idf or self.binary:
            return super().transform(raw_documents)
        if self.analyzer == "char_wb" and self.tokenizer is None and self.preprocessor is None:
            rows, columns, indptr = self._count_char_wb(raw_documents)
        else:
            rows, columns, indptr = self._count_terms(raw_documents)
        n_rows = len(indptr) - 1
        shape = (n_rows, len(self.vocabulary_))
        if n_rows == 1:  # one comment (a request): count directly, no coordinate matrix
            terms, times = np.unique(columns, return_counts=True)
            counts = sp.csr_matrix(
                (times.astype(np.float64), terms.astype(np.int32), np.array([0, len(terms)], dtype=np.int32)),
                shape=shape,
            )
        else:
            counts = sp.csr_matrix(
                (np.ones(len(columns), dtype=np.float64), (rows, columns)), shape=shape
            )  # duplicates summed: each cell is a term's count in the comment
        data = counts.data
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1
        data *= self.idf_[counts.indices]
        row_of = np.repeat(np.arange(n_rows), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=n_rows))
        norms[norms == 0] = 1
        data /= norms[row_of]
        counts.data = data.astype(self.dtype)
        return counts

    def _count_terms(self, raw_documents: Any) -> tuple[np.ndarray, np.ndarray, list[int]]:
        analyze = self.__dict__.get("_analyzer_cache")
        if analyze is None:
            analyze = self._analyzer_cache = self.build_analyzer()
        vocabulary = self.vocabulary_
        indptr = [0]
        columns: list[int] = []
        for document in raw_documents:
            terms = analyze(document)
            columns.extend(map(vocabulary.get, terms, itertools.repeat(-1, len(terms))))
            indptr.append(len(columns))
        return _known(indptr, columns)

    def _count_char_wb(self, raw_documents: Any) -> tuple[np.ndarray, np.ndarray, list[int]]:
        word_ids = self.__dict__.get("_word_ids_cache")
        if word_ids is None:
            word_ids = self._word_ids_cache = functools.lru_cache(maxsize=WORD_CACHE_SIZE)(self._word_ids)
        lower = self.lowercase
        indptr = [0]
        pieces: list[np.ndarray] = []
        total = 0
        for document in raw_documents:
            if not isinstance(document, str):
                raise ValueError(f"expected a string, got {type(document).__name__}")
            for word in (document.lower() if lower else document).split():
                ids = word_ids(word)
                pieces.append(ids)
                total += len(ids)
            indptr.append(total)
        columns = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        return _rows(indptr), columns, indptr

    def _word_ids(self, word: str) -> np.ndarray:
        """Feature ids of one word's character n-grams, exactly as ``_char_wb_ngrams`` makes them."""
        grams = self._char_wb_ngrams(word)
        array = np.fromiter(map(self.vocabulary_.get, grams, itertools.repeat(-1)), np.int32, len(grams))
        array = array[array >= 0]
        array.flags.writeable = False
        return array


# Distinct words whose character n-gram ids each process keeps (about 300 bytes each).
WORD_CACHE_SIZE = 50_000


def _rows(indptr: list[int]) -> np.ndarray:
    bounds = np.asarray(indptr, dtype=np.int64)
    return np.repeat(np.arange(len(bounds) - 1, dtype=np.int32), np.diff(bounds))


def _known(indptr: list[int], columns: list[int]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Rows and columns of the terms in the vocabulary (the others were looked up as -1)."""
    all_columns = np.asarray(columns, dtype=np.int32)
    keep = all_columns >= 0
    return _rows(indptr)[keep], all_columns[keep], indptr


class CalibratedLinearMultiLabel(ClassifierMixin, BaseEstimator):
    """One logistic regression per category, each with Platt calibration fitted out of fold.

    Training uses scikit-learn's CalibratedClassifierCV (``ensemble=False``):
    the sigmoid is fitted on cross-validated decision values, the linear
    model on all data. The fitted weights of every category are then kept as
    one matrix, so scoring a comment is one sparse product and a sigmoid.
    """

    def __init__(
        self,
        categories: Sequence[str] = (),
        C: float = 0.5,
        cv: int = 5,
        verbose: int = 0,
    ) -> None:
        self.categories = categories
        self.C = C
        self.cv = cv
        self.verbose = verbose

    def fit(
        self, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> CalibratedLinearMultiLabel:
        """Fit every category's model; ``Y`` is an (n, categories) matrix of 1, 0 or -1 (unlabelled).

        A row whose label is -1 for a category is left out of that category's model, so a data
        set that does not label a category teaches it nothing either way.
        """
        Y = np.asarray(Y)
        weights = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        n_categories = Y.shape[1]
        coef = np.zeros((n_categories, X.shape[1]), dtype=np.float64)
        intercept = np.zeros(n_categories)
        slope = np.zeros(n_categories)
        offset = np.zeros(n_categories)
        for k in range(n_categories):
            labelled = np.flatnonzero(Y[:, k] >= 0)
            y = Y[labelled, k].astype(int)
            if self.verbose:
                name = self.categories[k] if k < len(self.categories) else k
                print(
                    f"  fitting {name} ({k + 1}/{n_categories}, {int(y.sum())} positive of {len(y)})",
                    file=sys.stderr,
                )
            if min(np.bincount(y, minlength=2)) < 2:
                raise ValueError(f"category {self.categories[k]!r} needs at least 2 examples of each class")
            # The dual solver: far faster when features outnumber rows, as with n-grams.
            base = LogisticRegression(
                C=self.C,
                class_weight="balanced",
                max_iter=3000,
                solver="liblinear",
                dual=True,
                random_state=0,  # liblinear's dual solver shuffles: fixed, so retraining reproduces
            )
            Xk = X if len(labelled) == X.shape[0] else X[labelled]
            if self.cv == 0:  # no sigmoid here: recipe training calls recalibrate() on its own split
                base.fit(Xk, y, sample_weight=weights[labelled])
                coef[k], intercept[k], slope[k], offset[k] = base.coef_[0], base.intercept_[0], -1.0, 0.0
                continue
            folds = int(min(self.cv, np.bincount(y, minlength=2).min()))
            calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=folds, ensemble=False)
            calibrated.fit(Xk, y, sample_weight=weights[labelled])
            fitted = calibrated.calibrated_classifiers_[0]
            coef[k] = fitted.estimator.coef_[0]
            intercept[k] = fitted.estimator.intercept_[0]
            slope[k] = fitted.calibrators[0].a_
            offset[k] = fitted.calibrators[0].b_
        # (features, categories), C-contiguous: scipy copies a non-contiguous operand on every product.
        self.coef_ = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.intercept_ = intercept
        self.calibration_ = np.vstack([slope, offset])
        self.classes_ = np.array([0, 1])
        return self

    def recalibrate(
        self, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> CalibratedLinearMultiLabel:
        """Refit each category's Platt sigmoid on rows the linear model did not train on.

        Used with ``cv=0`` by recipe training, which has a calibration split: one cheap
        one-dimensional fit per category instead of ``cv`` extra linear fits.
        """
        Y = np.asarray(Y)
        weights = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        scores = self.decision_function(X)
        for k in range(Y.shape[1]):
            labelled = np.flatnonzero(Y[:, k] >= 0)
            y = Y[labelled, k].astype(int)
            if min(np.bincount(y, minlength=2)) < 1:
                raise ValueError(f"category {self.categories[k]!r}: no calibration rows of each class")
            # Balanced, as in the linear fit, so both classes weigh alike.
            w = weights[labelled].copy()
            for value in (0, 1):
                w[y == value] *= w.sum() / (2 * w[y == value].sum())
            platt = LogisticRegression(C=1e6, solver="lbfgs")
            platt.fit(scores[labelled, k : k + 1], y, sample_weight=w)
            # predict_proba is expit(-(slope * score + offset)): Platt's A and B.
            self.calibration_[0, k], self.calibration_[1, k] = -platt.coef_[0, 0], -platt.intercept_[0]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Uncalibrated linear scores, (n, categories)."""
        return np.asarray(X @ self.coef_) + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, (n, categories)."""
        slope, offset = self.calibration_
        return expit(-(slope * self.decision_function(X) + offset))

    def predict(self, X: Any) -> np.ndarray:
        """0/1 per category at probability 0.5."""
        return (self.predict_proba(X) >= 0.5).astype(int)


def build_pipeline(
    categories: Sequence[str],
    C: float = 0.5,
    min_df: int = 2,
    verbose: int = 0,
    lexicon_scale: float = 2.0,
    word_max_features: int = 150_000,
    char_max_features: int = 250_000,
    calibration_folds: int = 5,
) -> Pipeline:
    """The untrained Pipeline: prepare text, word and character n-grams, calibrated linear models."""
    features = FeatureUnion(
        [
            (
                "words",
                CompactTfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    min_df=min_df,
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b",
                    max_features=word_max_features,
                    dtype=np.float32,
                ),
            ),
            (
                "chars",
                CompactTfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=min_df,
                    sublinear_tf=True,
                    max_features=char_max_features,
                    dtype=np.float32,
                ),
            ),
            ("lexicon", LexiconFeatures(scale=lexicon_scale)),
        ]
    )
    return Pipeline(
        [
            ("prepare", TextPreparer()),
            ("features", features),
            (
                "model",
                CalibratedLinearMultiLabel(
                    categories=tuple(categories), C=C, cv=calibration_folds, verbose=verbose
                ),
            ),
        ]
    )
