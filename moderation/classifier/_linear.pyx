# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O2 -ffp-contract=off
"""The compiled form's linear step in C: from a batch's sorted n-gram occurrences to each row's
decision values, as ``compiled.Scorer._decisions`` computes them with numpy (and so as the
Pipeline does, to the bit).

Built by `make setup` (``setup.py``); without it the numpy code runs, with the same numbers. One
pass over the occurrences (each a cell ``row * width + column``, sorted, as numpy sorts them
fastest): each column of a row counted once, its TF-IDF value (sublinear count times idf,
divided by the l2 norm of the row's values in its step, in float64, then float32), merged in
column order with the row's lexicon features, and the weighted features added up one by one in
float32, as scipy's sparse product adds them. ``-ffp-contract=off``: a fused multiply-add would
round once where the Pipeline rounds twice.
"""

from libc.math cimport sqrt
from libc.stdint cimport INT64_MAX, int32_t, int64_t
from libc.stdlib cimport free, malloc

ctypedef fused cell_t:
    int32_t
    int64_t


def decisions(
    const cell_t[::1] cells,
    int64_t width,
    const float[:, ::1] table,
    const int64_t[::1] block_starts,
    const double[::1] log_counts,
    bint sublinear,
    const int64_t[::1] lexicon_rows,
    const int64_t[::1] lexicon_columns,
    const float[::1] lexicon_values,
    float[:, ::1] out,
):
    """Fill ``out`` (rows, categories; zeros) with each row's decision values.

    ``cells``: every TF-IDF n-gram occurrence as ``row * width + column``, ascending (``width``:
    at least the table's rows). ``table``:
    one row per feature, the categories' weights then the idf. ``block_starts``: the first column
    of each TF-IDF step, ascending. ``log_counts[c]`` is log(c) as numpy computes it, for every
    count a column can have in a row. The lexicon features are sorted by row, then column."""
    cdef Py_ssize_t n = out.shape[0], k = out.shape[1], m = cells.shape[0]
    cdef Py_ssize_t blocks = block_starts.shape[0], lexicon = lexicon_rows.shape[0]
    cdef Py_ssize_t i, j, first, unique, c, b, lex = 0, row_end
    cdef int64_t cell, row, column, next_block
    cdef double value, norm
    cdef float weight
    if table.shape[1] <= k or width < table.shape[0]:
        raise ValueError("the table does not fit")
    if lexicon_columns.shape[0] != lexicon or lexicon_values.shape[0] != lexicon:
        raise ValueError("the lexicon features do not fit")
    for i in range(m):
        if cells[i] < 0 or cells[i] >= n * width or (i > 0 and cells[i] < cells[i - 1]):
            raise ValueError("the cells are not sorted, or outside the batch")
        if cells[i] % width >= table.shape[0]:
            raise ValueError("a cell's column is outside the table")
    for i in range(lexicon):
        if not (0 <= lexicon_rows[i] < n and 0 <= lexicon_columns[i] < width):
            raise ValueError("a lexicon feature outside the batch or the table")
    cdef int64_t* kept = <int64_t*>malloc((m + 1) * sizeof(int64_t))
    cdef double* exact = <double*>malloc((m + 1) * sizeof(double))
    cdef float* sums = <float*>malloc((k + 1) * sizeof(float))
    if not (kept and exact and sums):
        free(kept)
        free(exact)
        free(sums)
        raise MemoryError()
    try:
        with nogil:
            i = 0
            while i < m or lex < lexicon:
                # The next row with a feature of either kind.
                row = cells[i] // width if i < m else INT64_MAX
                if lex < lexicon and lexicon_rows[lex] < row:
                    row = lexicon_rows[lex]
                # Its TF-IDF columns, each once with its count's value.
                unique = 0
                while i < m and cells[i] // width == row:
                    cell = cells[i]
                    first = i
                    while i < m and cells[i] == cell:
                        i += 1
                    column = cell - row * width
                    if sublinear:
                        if i - first >= log_counts.shape[0]:
                            with gil:
                                raise ValueError("log_counts is too short for this batch")
                        value = log_counts[i - first] + 1
                    else:
                        value = <double>(i - first)
                    kept[unique] = column
                    exact[unique] = value * <double>table[column, k]
                    unique += 1
                # Divided by the norm of the row's values in each step, summed in column order.
                j = 0
                while j < unique:
                    b = 0
                    while b + 1 < blocks and block_starts[b + 1] <= kept[j]:
                        b += 1
                    next_block = block_starts[b + 1] if b + 1 < blocks else INT64_MAX
                    first = j
                    norm = 0.0
                    while j < unique and kept[j] < next_block:
                        norm = norm + exact[j] * exact[j]
                        j += 1
                    norm = sqrt(norm)
                    if norm == 0:
                        norm = 1
                    while first < j:
                        exact[first] = <float>(exact[first] / norm)
                        first += 1
                # The weighted features in column order (the lexicon's merged in), added in float32.
                for c in range(k):
                    sums[c] = 0
                j = 0
                row_end = lex
                while row_end < lexicon and lexicon_rows[row_end] == row:
                    row_end += 1
                while j < unique or lex < row_end:
                    if j < unique and (lex == row_end or kept[j] < lexicon_columns[lex]):
                        column, weight = kept[j], <float>exact[j]
                        j += 1
                    else:
                        column, weight = lexicon_columns[lex], lexicon_values[lex]
                        lex += 1
                    for c in range(k):
                        sums[c] = sums[c] + weight * table[column, c]
                for c in range(k):
                    out[row, c] = sums[c]
    finally:
        free(kept)
        free(exact)
        free(sums)
