"""Types of the C kernel (``_linear.pyx``)."""

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
