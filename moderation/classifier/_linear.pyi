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
def n_gram_table(keys: np.ndarray, columns: np.ndarray) -> tuple[Any, Any]: ...
def find_columns(slot_keys: Any, slot_columns: Any, queries: np.ndarray) -> Any: ...
def char_columns(
    codes: np.ndarray,
    lengths: np.ndarray,
    chars: np.ndarray,
    bits: int,
    min_n: int,
    max_n: int,
    slot_keys: Any,
    slot_columns: Any,
) -> tuple[Any, Any]: ...
def gather(pool: np.ndarray, starts: np.ndarray, sizes: np.ndarray, slots: np.ndarray) -> tuple[Any, Any]: ...
def word_columns(
    ids: np.ndarray,
    ends: np.ndarray,
    unigrams: np.ndarray,
    min_n: int,
    max_n: int,
    slot_keys: Any,
    slot_columns: Any,
) -> tuple[Any, Any]: ...
