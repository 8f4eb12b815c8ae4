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
from cpython.array cimport array
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint32_t, uint64_t
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


# -- n-gram lookup ----------------------------------------------------------------------------
# The vocabulary's n-grams are integer keys (word n-grams by their tokens' numbers, character
# n-grams by their characters' numbers: never negative). A binary search of a quarter of a million
# keys misses the cache at every other step; an open-addressing table misses about once.

cdef inline uint64_t _slot(int64_t key, int shift) noexcept nogil:
    return (<uint64_t>key * <uint64_t>0x9E3779B97F4A7C15) >> shift


cdef inline int64_t _probe(
    const int64_t[::1] slot_keys, const int64_t[::1] slot_columns, int64_t key, int shift
) noexcept nogil:
    """The column of ``key`` in a table's slots, -1 when it has none."""
    cdef uint64_t mask = slot_keys.shape[0] - 1
    cdef uint64_t at = _slot(key, shift)
    while slot_keys[at] != -1:
        if slot_keys[at] == key:
            return slot_columns[at]
        at = (at + 1) & mask
    return -1


cdef class NGramTable:
    """An open-addressing table of a vocabulary's n-gram keys (distinct, not negative) to their
    columns, at most half full, and the lookups that go through it."""

    cdef int64_t[::1] slot_keys
    cdef int64_t[::1] slot_columns
    cdef int shift

    def __init__(self, const int64_t[::1] keys, const int64_t[::1] columns):
        cdef Py_ssize_t n = keys.shape[0], i
        if columns.shape[0] != n:
            raise ValueError("one column per key")
        cdef int bits = 4
        while (<Py_ssize_t>1 << bits) < 2 * n:
            bits += 1
        cdef Py_ssize_t size = <Py_ssize_t>1 << bits
        self.slot_keys = array("q", [-1]) * size
        self.slot_columns = array("q", [-1]) * size
        self.shift = 64 - bits
        cdef uint64_t at, mask = size - 1
        for i in range(n):
            if keys[i] < 0:
                raise ValueError("a negative key")
            at = _slot(keys[i], self.shift)
            while self.slot_keys[at] != -1:
                if self.slot_keys[at] == keys[i]:
                    raise ValueError("a key twice")
                at = (at + 1) & mask
            self.slot_keys[at] = keys[i]
            self.slot_columns[at] = columns[i]

    def find(self, const int64_t[::1] queries):
        """The column of each query key, -1 where it has none (a negative query never has one)."""
        cdef Py_ssize_t i, q = queries.shape[0]
        cdef const int64_t[::1] slot_keys = self.slot_keys
        cdef const int64_t[::1] slot_columns = self.slot_columns
        cdef int shift = self.shift
        out = array("q", [-1]) * q
        cdef int64_t[::1] found = out
        with nogil:
            for i in range(q):
                if queries[i] >= 0:
                    found[i] = _probe(slot_keys, slot_columns, queries[i], shift)
        return out

    def char_columns(
        self,
        const uint32_t[::1] codes,
        const int64_t[::1] lengths,
        const uint32_t[::1] chars,
        int bits,
        int min_n,
        int max_n,
    ):
        """The columns of the character n-grams of words, as scikit-learn's ``_char_wb_ngrams``
        makes them: every n-gram (``min_n`` to ``max_n`` characters) of each word padded with a space
        each side, a padded word no longer than ``max_n`` once, whole. ``codes``: the padded words'
        code points end to end; ``lengths``: each padded word's length. An n-gram is its characters'
        numbers (place in the sorted ``chars``, plus one) packed ``bits`` to a character, looked up in
        the table; one with a character outside ``chars`` is never found.
        Returns the columns found, word after word, and how many each word has."""
        cdef Py_ssize_t words = lengths.shape[0], total = codes.shape[0]
        cdef const int64_t[::1] slot_keys = self.slot_keys
        cdef const int64_t[::1] slot_columns = self.slot_columns
        cdef int shift = self.shift
        cdef Py_ssize_t w, i, j, start = 0, length, low, high, middle, kept = 0
        cdef int n
        cdef int64_t key, column
        cdef bint unknown
        if bits < 1 or min_n < 1 or max_n < min_n or bits * max_n > 63:
            raise ValueError("n-grams that do not pack")
        for w in range(words):
            if lengths[w] < 0:
                raise ValueError("a negative length")
            start += lengths[w]
        if start != total:
            raise ValueError("the lengths do not add up to the characters")
        cdef int64_t* numbers = <int64_t*>malloc((total + 1) * sizeof(int64_t))
        if not numbers:
            raise MemoryError()
        # At most (max_n - min_n + 1) n-grams per character.
        cdef Py_ssize_t room = (total + 1) * (max_n - min_n + 1)
        columns = array("q", [0]) * room
        counts = array("q", [0]) * words
        cdef int64_t[::1] found = columns
        cdef int64_t[::1] sizes = counts
        try:
            with nogil:
                for i in range(total):
                    numbers[i] = 0
                    low, high = 0, chars.shape[0]
                    while low < high:
                        middle = (low + high) // 2
                        if chars[middle] < codes[i]:
                            low = middle + 1
                        else:
                            high = middle
                    if low < chars.shape[0] and chars[low] == codes[i]:
                        numbers[i] = low + 1
                start = 0
                for w in range(words):
                    length = lengths[w]
                    for n in range(min_n, max_n + 1):
                        # From n = length on, scikit-learn takes the padded word once, whole.
                        for i in range(start, start + (length - n + 1 if n < length else 1)):
                            key = 0
                            unknown = False
                            for j in range(i, i + (n if n < length else length)):
                                if numbers[j] == 0:
                                    unknown = True
                                    break
                                key = (key << bits) | numbers[j]
                            if unknown:
                                continue
                            column = _probe(slot_keys, slot_columns, key, shift)
                            if column >= 0:
                                found[kept] = column
                                kept += 1
                                sizes[w] += 1
                        if n >= length:
                            break
                    start += length
        finally:
            free(numbers)
        return columns[:kept], counts

    def word_columns(
        self,
        const int64_t[::1] ids,
        const int64_t[::1] ends,
        const int64_t[::1] unigrams,
        int min_n,
        int max_n,
    ):
        """scikit-learn's word n-grams of a batch, by their tokens' numbers: ``ids`` holds each text's
        token numbers followed by the number ``len(unigrams) - 1`` (also that of a token outside the
        vocabulary), at the places ``ends``. ``unigrams[number]`` is a token's column (-1: none). An
        n-gram of two or more is the integer of its numbers plus one, in base ``len(unigrams)``,
        looked up in the table (a separator's digit carries, so no n-gram
        runs from one text into the next). Returns the row and column of every n-gram found."""
        cdef Py_ssize_t count = ids.shape[0], texts = ends.shape[0]
        cdef const int64_t[::1] slot_keys = self.slot_keys
        cdef const int64_t[::1] slot_columns = self.slot_columns
        cdef int shift = self.shift
        cdef Py_ssize_t i, j, kept = 0, row = 0
        cdef int n
        cdef uint64_t base = unigrams.shape[0], key
        cdef int64_t column
        if base < 1 or min_n < 1 or max_n < min_n:
            raise ValueError("no n-grams to find")
        for i in range(count):
            if ids[i] < 0 or <uint64_t>ids[i] >= base:
                raise ValueError("a token number outside the vocabulary's")
        for i in range(texts):
            if ends[i] < 0 or ends[i] >= count or (i > 0 and ends[i] <= ends[i - 1]):
                raise ValueError("the ends are not ascending places in the batch")
        cdef Py_ssize_t room = count * (max_n - min_n + 1) + 1
        rows = array("q", [0]) * room
        columns = array("q", [0]) * room
        cdef int64_t[::1] found_rows = rows
        cdef int64_t[::1] found = columns
        with nogil:
            for i in range(count):
                while row < texts and ends[row] < i:
                    row += 1
                if min_n == 1:
                    column = unigrams[ids[i]]
                    if column >= 0:
                        found_rows[kept] = row
                        found[kept] = column
                        kept += 1
                for n in range(2 if min_n < 2 else min_n, max_n + 1):
                    if i + n > count:
                        break
                    key = <uint64_t>ids[i] + 1
                    for j in range(i + 1, i + n):
                        key = key * base + <uint64_t>ids[j] + 1
                    column = _probe(slot_keys, slot_columns, <int64_t>key, shift)
                    if column >= 0:
                        found_rows[kept] = row
                        found[kept] = column
                        kept += 1
        return rows[:kept], columns[:kept]


def gather(const int64_t[::1] pool, const int64_t[::1] starts, const int64_t[::1] sizes, const int64_t[::1] slots):
    """The memo's columns of each slot's word, end to end: ``pool[starts[s]:starts[s] + sizes[s]]``
    for each ``s`` of ``slots``; and how many each has."""
    cdef Py_ssize_t count = slots.shape[0], i, j, total = 0, at = 0
    cdef int64_t slot
    for i in range(count):
        slot = slots[i]
        if slot < 0 or slot >= starts.shape[0] or slot >= sizes.shape[0]:
            raise IndexError("a slot outside the memo")
        if starts[slot] < 0 or sizes[slot] < 0 or starts[slot] + sizes[slot] > pool.shape[0]:
            raise IndexError("a word's columns outside the pool")
        total += sizes[slot]
    columns = array("q", [0]) * total
    counts = array("q", [0]) * count
    cdef int64_t[::1] out = columns
    cdef int64_t[::1] each = counts
    with nogil:
        for i in range(count):
            slot = slots[i]
            each[i] = sizes[slot]
            for j in range(starts[slot], starts[slot] + sizes[slot]):
                out[at] = pool[j]
                at += 1
    return columns, counts
