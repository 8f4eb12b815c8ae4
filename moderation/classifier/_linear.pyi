"""Types of the C kernel (``_linear.pyx``)."""

from typing import Any

import numpy as np

def decisions(
    cells: np.ndarray,
    width: int,
    table: np.ndarray,
    block_starts: np.ndarray,
    log_counts: np.ndarray,
    sublinear: bool,
    lexicon_rows: np.ndarray,
    lexicon_columns: np.ndarray,
    lexicon_values: np.ndarray,
    out: np.ndarray,
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

def gather(pool: np.ndarray, starts: np.ndarray, sizes: np.ndarray, slots: np.ndarray) -> tuple[Any, Any]: ...
