"""Types of the C kernel (``_linear.pyx``)."""

from collections.abc import Iterable
from typing import Any

import numpy as np

def decisions(
    parts: list[tuple[np.ndarray, ...]],
    table: np.ndarray,
    block_starts: np.ndarray,
    log_counts: np.ndarray,
    sublinear: bool,
    lexicon_rows: np.ndarray,
    lexicon_columns: np.ndarray,
    lexicon_values: np.ndarray,
    out: np.ndarray,
) -> None: ...
def pair_decisions(
    parts: list[tuple[np.ndarray, ...]],
    lane: int,
    log_counts: np.ndarray,
    sublinear: bool,
    first: tuple[np.ndarray, ...],
    second: tuple[np.ndarray, ...],
) -> None: ...

class NGramTable:
    def __init__(self, keys: np.ndarray, columns: np.ndarray) -> None: ...
    def find(self, queries: np.ndarray) -> Any: ...
    def char_columns(
        self, codes: np.ndarray, lengths: np.ndarray, chars: np.ndarray, bits: int, min_n: int, max_n: int
    ) -> tuple[Any, Any]: ...
    def word_columns(
        self, ids: np.ndarray, ends: np.ndarray, unigrams: np.ndarray, min_n: int, max_n: int
    ) -> tuple[Any, Any]: ...

def gather_rows(
    pool: np.ndarray, starts: np.ndarray, sizes: np.ndarray, slots: np.ndarray, per_text: np.ndarray
) -> tuple[Any, Any]: ...

class Strings:
    def __init__(self, strings: Iterable[str] = ()) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, number: int) -> str: ...
    def add(self, text: str) -> int: ...
    def find(self, text: str) -> int: ...
    def clear(self) -> None: ...

TOKENS: int
WORDS: int

class Runs:
    texts: list[str]
    run: int
    shortest: int
    count: int
    def __init__(self, texts: list[str], run: int, shortest: int = 1) -> None: ...

def token_numbers(vocabulary: Strings, tokens: Runs, outside: int) -> tuple[Any, Any]: ...
def word_slots(memo: Strings, words: Runs) -> tuple[Any, Any, list[str]]: ...

class LexiconCounts:
    width: int
    def __init__(
        self,
        exact: dict[str, list[int]],
        prefix: dict[str, list[int]],
        prefix_lengths: list[int],
        lists: int,
        phrases: dict[str, list[int]],
        phrase_lengths: list[int],
        second: int,
        identity: int,
        addressed: list[int],
        near: list[int],
        context_only: list[int],
        window: int,
        remember: int,
    ) -> None: ...
    def count(self, texts: list[str], out: np.ndarray) -> None: ...

def prepare_needs(text: str) -> int: ...
def lexicon_cells(counts: np.ndarray, value_of: np.ndarray, offset: int) -> tuple[Any, Any, Any] | None: ...
def keep_heap(mmap_threshold: int, trim_threshold: int) -> bool: ...
def undisguise(text: str) -> str: ...
def text_hash(text: str) -> int: ...
