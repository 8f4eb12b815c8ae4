# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -O3 -ffp-contract=off
"""The compiled form's scoring in C, built by `make setup` (``setup.py``); without it the Python
and numpy code in ``compiled`` and ``textprep`` runs, with the same numbers
(``tests/test_same_outputs.py`` holds the two together). In order:

- the linear step (:func:`decisions`): from a batch's n-gram occurrences (rows and columns,
  grouped by row, and the word memo's columns read in place; each row's sorted in C) to each
  row's decision values:
  each column of a row counted once, its TF-IDF value (sublinear count times idf, divided by the
  l2 norm of the row's values in its step, in float64, then float32), merged in column order
  with the row's lexicon features, and the weighted features added up one by one in float32, as
  scipy's sparse product adds them. ``-ffp-contract=off``: a fused multiply-add would round once
  where the Pipeline rounds twice;
- integer n-gram keys found in open-addressing tables (:class:`NGramTable`), and the word memo's
  columns gathered (:func:`gather_rows`, for the numpy code);
- strings found by their code points (:class:`Strings`, under a keyed hash): a batch's tokens
  and words read off its characters and hashed once (:class:`Runs`), then numbered
  (:func:`token_numbers`, :func:`word_slots`);
- the lexicon step's counts (:class:`LexiconCounts`) and its features from them
  (:func:`lexicon_cells`);
- text preparation: which substitutions a text needs (:func:`prepare_needs`) and undoing
  disguises (:func:`undisguise`);
- glibc's heap kept between batches (:func:`keep_heap`).
"""

cimport cython
from libc.math cimport sqrt
from cpython.array cimport array, clone
from cpython.unicode cimport (
    Py_UNICODE_ISALNUM,
    Py_UNICODE_ISSPACE,
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_1BYTE_KIND,
    PyUnicode_KIND,
    PyUnicode_READ,
    PyUnicode_Substring,
)
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

cdef extern from *:
    """
    #include <string.h>
    /* Four float32 lanes: each does alone what one category's sum does (a product, then a sum,
       rounded to float32 each: -ffp-contract=off keeps them apart), four categories at once. */
    typedef float linear_v4f __attribute__((vector_size(16)));

    /* out[c] = the sum over j, in order, of weights[j] * table[columns[j] * stride + c], for each
       of the k categories. A row of four (or eight) values is read whole, so four (eight)
       categories take one (two) vector steps a feature; the lanes past k add up what follows the
       categories in the row (the idf, zeros) and are dropped. */
    static void linear_weighted_sums(const int64_t* columns, const float* weights, Py_ssize_t count,
                                     const float* table, Py_ssize_t stride, Py_ssize_t k, float* out) {
        Py_ssize_t j, c;
        if (k <= 4 && stride >= 4) {
            linear_v4f a = {0, 0, 0, 0}, x;
            for (j = 0; j < count; j++) {
                memcpy(&x, table + columns[j] * stride, sizeof x);
                a = a + weights[j] * x;
            }
            for (c = 0; c < k; c++) out[c] = a[c];
        } else if (k <= 8 && stride >= 8) {
            linear_v4f a = {0, 0, 0, 0}, b = {0, 0, 0, 0}, x, y;
            for (j = 0; j < count; j++) {
                const float* row = table + columns[j] * stride;
                memcpy(&x, row, sizeof x);
                memcpy(&y, row + 4, sizeof y);
                a = a + weights[j] * x;
                b = b + weights[j] * y;
            }
            for (c = 0; c < k; c++) out[c] = c < 4 ? a[c] : b[c - 4];
        } else {
            for (c = 0; c < k; c++) out[c] = 0;
            for (j = 0; j < count; j++)
                for (c = 0; c < k; c++) out[c] = out[c] + weights[j] * table[columns[j] * stride + c];
        }
    }

    /* Sort `count` values below 2^bits ascending, in `a` (`tmp`: room for as many). A row's
       values fit the first level cache. The shortest rows by insertion; rows under SHORT_ROW and
       numberings wider than 22 bits by MSD radix (for a short row, one pass by the top 8 bits and
       one insertion pass); the other rows, for the widths a vocabulary has, by LSD radix in two
       passes (their buckets cost a short row more than its values). */
    static void linear_insertion_sort(uint32_t* a, Py_ssize_t count) {
        Py_ssize_t j, c;
        uint32_t v;
        for (j = 1; j < count; j++) {
            v = a[j];
            c = j;
            while (c > 0 && a[c - 1] > v) { a[c] = a[c - 1]; c--; }
            a[c] = v;
        }
    }

    /* A radix pass's buckets: each bucket's count becomes where its values start. */
    static inline void linear_offsets(uint32_t* counts, int buckets) {
        uint32_t sum = 0, c;
        int b;
        for (b = 0; b < buckets; b++) { c = counts[b]; counts[b] = sum; sum += c; }
    }

    /* One radix pass: each value of `src` to its bucket's next place in `dst`. */
    static inline void linear_scatter(const uint32_t* restrict src, uint32_t* restrict dst, Py_ssize_t count,
                                      uint32_t* restrict offsets, int shift, uint32_t mask) {
        Py_ssize_t j;
        uint32_t v;
        for (j = 0; j < count; j++) { v = src[j]; dst[offsets[(v >> shift) & mask]++] = v; }
    }

    /* MSD radix: the values spread by their top 8 bits (one counting read, one scatter), and
       each part sorted the same way on the bits below, down to parts of 32 or fewer, sorted by
       insertion: at most ceil(bits / 8) levels. Fewer than SHORT_ROW values are finished by one
       insertion pass over them all, which moves each value within its part only (a row's
       columns spread over the parts; at worst, all in one, it is the insertion sort of under
       SHORT_ROW values). */
    enum { SHORT_ROW = 512 };
    static void linear_sort_msd(uint32_t* restrict a, uint32_t* restrict tmp, Py_ssize_t count, int bits) {
        uint32_t starts[257], fill[256], size;
        Py_ssize_t j;
        int digit, shift, b;
        uint32_t mask;
        if (count <= 32 || bits <= 0) {
            linear_insertion_sort(a, count);
            return;
        }
        digit = bits < 8 ? bits : 8;
        shift = bits - digit;
        mask = (1u << digit) - 1;
        memset(starts, 0, sizeof(uint32_t) * ((1 << digit) + 1));
        for (j = 0; j < count; j++) starts[((a[j] >> shift) & mask) + 1]++;
        for (b = 0; b < (1 << digit); b++) {
            if (starts[b + 1] == count) {  /* one part: on to the next bits */
                linear_sort_msd(a, tmp, count, shift);
                return;
            }
            starts[b + 1] += starts[b];
        }
        memcpy(fill, starts, sizeof(uint32_t) << digit);
        linear_scatter(a, tmp, count, fill, shift, mask);
        memcpy(a, tmp, (size_t)count * sizeof *a);
        if (count < SHORT_ROW) {  /* one insertion pass moves each value within its part only */
            linear_insertion_sort(a, count);
            return;
        }
        for (b = 0; b < (1 << digit); b++) {
            size = starts[b + 1] - starts[b];
            if (size > 32)
                linear_sort_msd(a + starts[b], tmp + starts[b], size, shift);
            else if (size > 1)
                linear_insertion_sort(a + starts[b], size);
        }
    }

    /* LSD radix in two passes of half the bits each (at most 22 bits: up to 2,048 buckets a
       pass), the counts of both in one read. */
    static void linear_sort_lsd(uint32_t* restrict a, uint32_t* restrict tmp, Py_ssize_t count, int bits) {
        uint32_t low[2048], high[2048], v;
        Py_ssize_t j;
        int digit = (bits + 1) / 2;
        uint32_t mask = ((uint32_t)1 << digit) - 1;
        memset(low, 0, sizeof(uint32_t) << digit);
        memset(high, 0, sizeof(uint32_t) << digit);
        for (j = 0; j < count; j++) {
            v = a[j];
            low[v & mask]++;
            high[(v >> digit) & mask]++;
        }
        linear_offsets(low, 1 << digit);
        linear_offsets(high, 1 << digit);
        linear_scatter(a, tmp, count, low, 0, mask);
        linear_scatter(tmp, a, count, high, digit, mask);
    }

    static void linear_sort_columns(uint32_t* restrict a, uint32_t* restrict tmp, Py_ssize_t count, int bits) {
        if (count <= 48)
            linear_insertion_sort(a, count);
        else if (bits > 22 || count > 0xffffffff || count < SHORT_ROW)
            linear_sort_msd(a, tmp, count, bits);
        else
            linear_sort_lsd(a, tmp, count, bits);
    }
    """
    void linear_weighted_sums(
        const int64_t* columns, const float* weights, Py_ssize_t count, const float* table,
        Py_ssize_t stride, Py_ssize_t k, float* out
    ) noexcept nogil
    void linear_sort_columns(uint32_t* a, uint32_t* tmp, Py_ssize_t count, int bits) noexcept nogil
    void linear_prefetch "__builtin_prefetch"(const void* address) noexcept nogil


# How many n-grams ahead the kernel asks for a table row (most rows miss the cache).
DEF PREFETCH = 32


cdef struct Sources:
    # A batch's n-gram columns, row by row: the pairs' grouped by row (row r's are
    # grouped[ends[r - 1]:ends[r]], ends[-1] being 0) and each word memo's (five arrays a memo).
    Py_ssize_t* ends
    uint32_t* grouped
    Py_ssize_t memos
    const int64_t** memo_arrays
    Py_ssize_t* memo_at
    Py_ssize_t columns  # every column is below this
    Py_ssize_t longest  # the most columns a row has


cdef int _gather_sources(list parts, Py_ssize_t n, Py_ssize_t columns, Sources* sources) except -1:
    """Check ``parts`` (see :func:`decisions`) against a batch of ``n`` rows and ``columns``
    columns, and group the pairs' columns by row. The caller frees the arrays (_free_sources)."""
    cdef Py_ssize_t i, m, w, at, row, slot, total = 0
    cdef const int64_t[::1] rows_of
    cdef const int64_t[::1] columns_of
    cdef const int64_t[::1] pool
    cdef const int64_t[::1] starts
    cdef const int64_t[::1] sizes
    cdef const int64_t[::1] slots
    cdef const int64_t[::1] per_text
    cdef list pairs = [], memos = []
    for part in parts:
        if len(part) == 2:
            rows_of, columns_of = part
            if rows_of.shape[0] != columns_of.shape[0]:
                raise ValueError("one column per row")
            total += rows_of.shape[0]
            pairs.append(part)
        elif len(part) == 5:
            memos.append(part)
        else:
            raise ValueError("a part is (rows, columns) or (pool, starts, sizes, slots, per_text)")
    sources.memos = len(memos)
    sources.columns = columns
    sources.longest = 0
    sources.ends = <Py_ssize_t*>calloc(n + 2, sizeof(Py_ssize_t))
    sources.grouped = <uint32_t*>malloc((total + 1) * sizeof(uint32_t))
    # Each memo's arrays as pointers (the tuples in `parts` keep them alive), and its next slot.
    sources.memo_arrays = <const int64_t**>calloc(5 * sources.memos + 1, sizeof(int64_t*))
    sources.memo_at = <Py_ssize_t*>calloc(sources.memos + 1, sizeof(Py_ssize_t))
    cdef Py_ssize_t* sized = <Py_ssize_t*>calloc(n + 1, sizeof(Py_ssize_t))  # each row's memo columns
    if not (sources.ends and sources.grouped and sources.memo_arrays and sources.memo_at and sized):
        free(sized)
        raise MemoryError()
    sources.ends += 1  # ends[-1] is 0
    try:
        # Each row's place: its count (the bounds checked on the way), then the counts before it.
        for part in pairs:
            rows_of, columns_of = part
            for i in range(rows_of.shape[0]):
                if <uint64_t>rows_of[i] >= <uint64_t>n or <uint64_t>columns_of[i] >= <uint64_t>columns:
                    raise ValueError("an n-gram outside the batch or the table")
                sources.ends[rows_of[i]] += 1
        # Each memo's slots and their columns within its arrays (the columns themselves are
        # checked as they are copied), and how many columns each row takes from it.
        for m in range(sources.memos):
            pool, starts, sizes, slots, per_text = memos[m]
            if per_text.shape[0] != n:
                raise ValueError("a word count per row")
            at = 0
            for row in range(n):
                if per_text[row] < 0 or per_text[row] > slots.shape[0] - at:
                    raise ValueError("the word counts do not add up to the slots")
                for w in range(at, at + per_text[row]):
                    slot = slots[w]
                    if slot < 0 or slot >= starts.shape[0] or slot >= sizes.shape[0]:
                        raise IndexError("a slot outside the memo")
                    if starts[slot] < 0 or sizes[slot] < 0 or sizes[slot] > pool.shape[0] - starts[slot]:
                        raise IndexError("a word's columns outside the pool")
                    sized[row] += sizes[slot]
                at += per_text[row]
            if at != slots.shape[0]:
                raise ValueError("the word counts do not add up to the slots")
            sources.memo_arrays[5 * m] = &pool[0] if pool.shape[0] else NULL
            sources.memo_arrays[5 * m + 1] = &starts[0] if starts.shape[0] else NULL
            sources.memo_arrays[5 * m + 2] = &sizes[0] if sizes.shape[0] else NULL
            sources.memo_arrays[5 * m + 3] = &slots[0] if slots.shape[0] else NULL
            sources.memo_arrays[5 * m + 4] = &per_text[0] if n else NULL
        # Each row's start (ends[row] moves from it to the row's end as its columns are placed).
        at = 0
        for row in range(n):
            sources.longest = max(sources.longest, sources.ends[row] + sized[row])
            i = sources.ends[row]
            sources.ends[row] = at
            at += i
        for part in pairs:
            rows_of, columns_of = part
            for i in range(rows_of.shape[0]):
                row = rows_of[i]
                sources.grouped[sources.ends[row]] = <uint32_t>columns_of[i]
                sources.ends[row] += 1
    finally:
        free(sized)
    return 0


cdef void _free_sources(Sources* sources) noexcept:
    if sources.ends:
        free(sources.ends - 1)
    free(sources.grouped)
    free(sources.memo_arrays)
    free(sources.memo_at)


cdef Py_ssize_t _row_columns(Sources* sources, Py_ssize_t row, uint32_t* out) noexcept nogil:
    """Row ``row``'s columns side by side in ``out`` (rows are read in order): its pairs', then
    its words' from each memo. How many; -1 for a memo's column outside the table."""
    cdef Py_ssize_t count = sources.ends[row] - sources.ends[row - 1], m, w, j, slot, stop
    cdef const int64_t** arrays
    cdef int64_t column
    memcpy(out, sources.grouped + sources.ends[row - 1], count * sizeof(uint32_t))
    for m in range(sources.memos):
        arrays = sources.memo_arrays + 5 * m
        for w in range(sources.memo_at[m], sources.memo_at[m] + arrays[4][row]):
            slot = arrays[3][w]
            stop = arrays[1][slot] + arrays[2][slot]
            for j in range(arrays[1][slot], stop):
                column = arrays[0][j]
                if <uint64_t>column >= <uint64_t>sources.columns:
                    return -1
                out[count] = <uint32_t>column
                count += 1
        sources.memo_at[m] += arrays[4][row]
    return count


cdef struct Head:
    # One model's part of the linear step: its table (a row per feature: the k categories'
    # weights, then the idf), its TF-IDF steps' first columns, its lexicon features (sorted by
    # row, then column; `lex` is the next one) and its decision values.
    const float* table
    Py_ssize_t stride, k, blocks, lexicon, lex
    const int64_t* block_starts
    const int64_t* lexicon_rows
    const int64_t* lexicon_columns
    const float* lexicon_values
    float* out


cdef int _head(
    Head* head,
    const float[:, ::1] table,
    const int64_t[::1] block_starts,
    const int64_t[::1] lexicon_rows,
    const int64_t[::1] lexicon_columns,
    const float[::1] lexicon_values,
    float[:, ::1] out,
) except -1:
    """Check one model's arrays and point ``head`` at them."""
    cdef Py_ssize_t n = out.shape[0], k = out.shape[1], lexicon = lexicon_rows.shape[0], i
    cdef Py_ssize_t columns = table.shape[0]
    if table.shape[1] <= k or columns > 0xffffffff or columns == 0:
        raise ValueError("the table does not fit")
    if lexicon_columns.shape[0] != lexicon or lexicon_values.shape[0] != lexicon:
        raise ValueError("the lexicon features do not fit")
    for i in range(lexicon):
        if not (0 <= lexicon_rows[i] < n and 0 <= lexicon_columns[i] < columns):
            raise ValueError("a lexicon feature outside the batch or the table")
        if i and (lexicon_rows[i] < lexicon_rows[i - 1] or (
            lexicon_rows[i] == lexicon_rows[i - 1] and lexicon_columns[i] <= lexicon_columns[i - 1]
        )):
            raise ValueError("the lexicon features are not sorted")
    for i in range(block_starts.shape[0]):
        if not 0 <= block_starts[i] <= columns or (i and block_starts[i] < block_starts[i - 1]):
            raise ValueError("the steps' first columns are not ascending columns of the table")
    head.table = &table[0, 0]
    head.stride, head.k = table.shape[1], k
    head.blocks, head.lexicon, head.lex = block_starts.shape[0], lexicon, 0
    head.block_starts = &block_starts[0] if head.blocks else NULL
    head.lexicon_rows = &lexicon_rows[0] if lexicon else NULL
    head.lexicon_columns = &lexicon_columns[0] if lexicon else NULL
    head.lexicon_values = &lexicon_values[0] if lexicon else NULL
    head.out = &out[0, 0] if n else NULL
    return 0


cdef Py_ssize_t _most_lexicon(Head* head) noexcept:
    """The most lexicon features one row has."""
    cdef Py_ssize_t i = 0, j, most = 0
    while i < head.lexicon:
        j = i
        while j < head.lexicon and head.lexicon_rows[j] == head.lexicon_rows[i]:
            j += 1
        most = max(most, j - i)
        i = j
    return most


cdef void _finish_row(
    Head* head, Py_ssize_t row, const int64_t* kept, double* exact, Py_ssize_t unique,
    int64_t* merged, float* weights,
) noexcept nogil:
    """A row's decision values from its TF-IDF columns (ascending, each once) and their values
    before the norm: each divided by the norm of the row's values in its step (summed in column
    order), the lexicon's features merged in, and the weighted features added up in float32."""
    cdef Py_ssize_t j = 0, b, first, features, row_end
    cdef int64_t next_block
    cdef double norm
    while j < unique:
        b = 0
        while b + 1 < head.blocks and head.block_starts[b + 1] <= kept[j]:
            b += 1
        next_block = head.block_starts[b + 1] if b + 1 < head.blocks else INT64_MAX
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
    row_end = head.lex
    while row_end < head.lexicon and head.lexicon_rows[row_end] == row:
        row_end += 1
    if head.lex == row_end or unique == 0 or head.lexicon_columns[head.lex] > kept[unique - 1]:
        # The lexicon's columns after the row's n-grams (its step comes last): appended.
        for j in range(unique):
            merged[j], weights[j] = kept[j], <float>exact[j]
        features = unique
        while head.lex < row_end:
            merged[features], weights[features] = head.lexicon_columns[head.lex], head.lexicon_values[head.lex]
            head.lex += 1
            features += 1
    else:
        features = 0
        j = 0
        while j < unique or head.lex < row_end:
            if j < unique and (head.lex == row_end or kept[j] < head.lexicon_columns[head.lex]):
                merged[features], weights[features] = kept[j], <float>exact[j]
                j += 1
            else:
                merged[features], weights[features] = head.lexicon_columns[head.lex], head.lexicon_values[head.lex]
                head.lex += 1
            features += 1
    if features:
        linear_weighted_sums(merged, weights, features, head.table, head.stride, head.k, head.out + row * head.k)


cdef Py_ssize_t _counted(
    const uint32_t* columns, Py_ssize_t count, const double* log_counts, Py_ssize_t logs, bint sublinear,
    const float* table, Py_ssize_t stride, uint32_t* unique_columns, double* values,
) noexcept nogil:
    """A sorted row's columns, each once, with its count's tf value (1 + log of the count, or the
    count): how many; -1 for a count past ``log_counts``. Asks for the table row of the column
    PREFETCH n-grams on (most rows miss the cache) while it counts."""
    cdef Py_ssize_t i = 0, first, unique = 0
    cdef uint32_t column
    while i < count:
        column = columns[i]
        if i + PREFETCH < count:
            linear_prefetch(table + columns[i + PREFETCH] * stride)
        first = i
        while i < count and columns[i] == column:
            i += 1
        if sublinear:
            if i - first >= logs:
                return -1
            values[unique] = log_counts[i - first] + 1
        else:
            values[unique] = <double>(i - first)
        unique_columns[unique] = column
        unique += 1
    return unique


cdef int _bits(Py_ssize_t columns) noexcept:
    """How many bits the columns below ``columns`` take."""
    cdef int bits = 0
    while bits < 32 and (<uint64_t>(columns - 1)) >> bits:
        bits += 1
    return bits


cdef struct Rows:
    # The buffers a row is worked in, each room for the longest row (and its lexicon features).
    uint32_t* columns  # its columns, then sorted
    uint32_t* spare  # the sort's room, then each distinct column
    double* values  # each distinct column's tf value
    int64_t* kept
    double* exact
    int64_t* merged
    float* weights


cdef int _rows(Rows* rows, Py_ssize_t longest, Py_ssize_t most) except -1:
    """Allocate the buffers (the caller frees them: _free_rows, also after a MemoryError)."""
    rows.columns = <uint32_t*>malloc((longest + 1) * sizeof(uint32_t))
    rows.spare = <uint32_t*>malloc((longest + 1) * sizeof(uint32_t))
    rows.values = <double*>malloc((longest + 1) * sizeof(double))
    rows.kept = <int64_t*>malloc((longest + 1) * sizeof(int64_t))
    rows.exact = <double*>malloc((longest + 1) * sizeof(double))
    rows.merged = <int64_t*>malloc((longest + most + 1) * sizeof(int64_t))
    rows.weights = <float*>malloc((longest + most + 1) * sizeof(float))
    if not (rows.columns and rows.spare and rows.values and rows.kept and rows.exact and rows.merged and rows.weights):
        raise MemoryError()
    return 0


cdef void _free_rows(Rows* rows) noexcept:
    free(rows.columns)
    free(rows.spare)
    free(rows.values)
    free(rows.kept)
    free(rows.exact)
    free(rows.merged)
    free(rows.weights)


cdef Py_ssize_t _read_row(
    Sources* sources, Py_ssize_t row, Rows* rows, int bits, const double[::1] log_counts, bint sublinear,
    const float* table, Py_ssize_t stride,
) noexcept nogil:
    """Row ``row``'s distinct columns (in ``rows.spare``, ascending) and their tf values (in
    ``rows.values``): how many; -1 for a memo's column outside the table, -2 for a count past
    ``log_counts``."""
    cdef Py_ssize_t count = _row_columns(sources, row, rows.columns)
    if count < 0:
        return -1
    linear_sort_columns(rows.columns, rows.spare, count, bits)
    count = _counted(rows.columns, count, &log_counts[0], log_counts.shape[0], sublinear, table, stride,
                     rows.spare, rows.values)
    return count if count >= 0 else -2


cdef int _raise_for(Py_ssize_t failed) except -1:
    """The ValueError for what _read_row (or the pair's second columns, -3) found wrong."""
    if failed == -1:
        raise ValueError("a memo's column outside the table")
    if failed == -2:
        raise ValueError("log_counts is too short for this batch")
    if failed == -3:
        raise ValueError("a second column outside the second model's table")
    return 0


def decisions(
    list parts,
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

    ``parts``: each TF-IDF step's n-gram occurrences, either a pair of int64 arrays (their rows,
    below ``out``'s, and their columns, below the table's), in any order, or a word memo's
    columns as five int64 arrays ``(pool, starts, sizes, slots, per_text)``: row ``t`` has the
    next ``per_text[t]`` of ``slots``, and a slot ``s`` the columns
    ``pool[starts[s]:starts[s] + sizes[s]]`` (what :func:`gather_rows` would lay out, read in
    place). ``table`` (float32): one row per feature, the categories' weights then the idf.
    ``block_starts``: the first column of each TF-IDF step, ascending. ``log_counts[c]`` is
    log(c) as numpy computes it, for every count a column can have in a row. The lexicon
    features are sorted by row, then column.

    The pairs' occurrences are grouped by row in one counting pass; each row's columns (its
    pairs' and its words' from the memos) are then copied side by side, sorted on their own
    (:c:func:`linear_sort_columns`: they fit the first level cache) and summed at once, while
    they are there."""
    cdef Head head
    _head(&head, table, block_starts, lexicon_rows, lexicon_columns, lexicon_values, out)
    cdef Py_ssize_t n = out.shape[0], k = head.k, i, unique = 0, row
    cdef int bits = _bits(table.shape[0])
    cdef Sources sources
    cdef Rows rows
    memset(&sources, 0, sizeof(Sources))
    memset(&rows, 0, sizeof(Rows))
    try:
        _gather_sources(parts, n, table.shape[0], &sources)
        _rows(&rows, sources.longest, _most_lexicon(&head))
        with nogil:
            for row in range(n):
                # Its TF-IDF columns, each once with its count's value times its idf.
                unique = _read_row(&sources, row, &rows, bits, log_counts, sublinear, head.table, head.stride)
                if unique < 0:
                    break
                for i in range(unique):
                    rows.kept[i] = rows.spare[i]
                    rows.exact[i] = rows.values[i] * <double>head.table[rows.spare[i] * head.stride + k]
                _finish_row(&head, row, rows.kept, rows.exact, unique, rows.merged, rows.weights)
        _raise_for(unique)
    finally:
        _free_sources(&sources)
        _free_rows(&rows)


def pair_decisions(
    list parts,
    int lane,
    const double[::1] log_counts,
    bint sublinear,
    tuple first,
    tuple second,
):
    """:func:`decisions` for two models that read the same n-grams, from one reading: each of
    ``first`` and ``second`` is ``(table, block_starts, lexicon_rows, lexicon_columns,
    lexicon_values, out)`` as :func:`decisions` takes them. The parts' columns are the first
    model's, and past its last the second's alone: column ``c`` is ``first``'s column ``c`` and
    the second's column ``first_table[c, lane]`` (a whole number in a lane past the idf, fetched
    with the row; -1: not one of its features) when ``c`` is below the first table's length,
    else the second's ``c`` minus that length. The second model's columns of the first's must
    ascend with them (both vocabularies sorted by term; ``paired.Pair`` checks it), so that each
    row, sorted once, gives each model its columns in order (the second's two runs merged): the
    sums are those :func:`decisions` gives each model alone, to the bit."""
    cdef Head one, two
    if len(first) != 6 or len(second) != 6:
        raise ValueError("each model is (table, block_starts, lexicon_rows, lexicon_columns, lexicon_values, out)")
    _head(&one, first[0], first[1], first[2], first[3], first[4], first[5])
    _head(&two, second[0], second[1], second[2], second[3], second[4], second[5])
    cdef const float[:, ::1] first_out = first[5]
    cdef const float[:, ::1] second_out = second[5]
    cdef Py_ssize_t n = first_out.shape[0], first_columns = first[0].shape[0]
    cdef Py_ssize_t second_width = second[0].shape[0], longest
    cdef Py_ssize_t i, j, a, b, distinct = 0, unique, owned, only, row
    cdef uint32_t column
    cdef int64_t theirs
    cdef double value
    cdef float found
    if second_out.shape[0] != n:
        raise ValueError("the two models' decision values are for other batches")
    if not one.k < lane < one.stride:
        raise ValueError("the second model's columns are in a lane past the first's idf")
    cdef int bits = _bits(first_columns + second_width)
    cdef Sources sources
    cdef Rows rows
    memset(&sources, 0, sizeof(Sources))
    memset(&rows, 0, sizeof(Rows))
    # The second model's columns in two runs: its columns of the first's (from the front), then
    # its own (from second_kept + longest + 1).
    cdef int64_t* second_kept = NULL
    cdef double* second_exact = NULL
    try:
        _gather_sources(parts, n, first_columns + second_width, &sources)
        longest = sources.longest
        _rows(&rows, longest, max(_most_lexicon(&one), _most_lexicon(&two)))
        second_kept = <int64_t*>malloc((2 * longest + 2) * sizeof(int64_t))
        second_exact = <double*>malloc((2 * longest + 2) * sizeof(double))
        if not (second_kept and second_exact):
            raise MemoryError()
        with nogil:
            for row in range(n):
                distinct = _read_row(&sources, row, &rows, bits, log_counts, sublinear, one.table, one.stride)
                if distinct < 0:
                    break
                unique = owned = only = 0
                for i in range(distinct):
                    column, value = rows.spare[i], rows.values[i]
                    if column < first_columns:
                        rows.kept[unique] = column
                        rows.exact[unique] = value * <double>one.table[column * one.stride + one.k]
                        unique += 1
                        found = one.table[column * one.stride + lane]
                        if not -1 <= found < second_width:
                            distinct = -3
                            break
                        theirs = <int64_t>found
                        if theirs >= 0:
                            second_kept[owned] = theirs
                            second_exact[owned] = value * <double>two.table[theirs * two.stride + two.k]
                            owned += 1
                    else:
                        theirs = column - first_columns
                        second_kept[longest + 1 + only] = theirs
                        second_exact[longest + 1 + only] = value * <double>two.table[theirs * two.stride + two.k]
                        only += 1
                if distinct < 0:
                    break
                _finish_row(&one, row, rows.kept, rows.exact, unique, rows.merged, rows.weights)
                # The second model's two runs merged in its column order (into the buffers the
                # first model's row is done with).
                a, b, j = 0, longest + 1, 0
                while a < owned or b < longest + 1 + only:
                    if a < owned and (b == longest + 1 + only or second_kept[a] < second_kept[b]):
                        rows.kept[j], rows.values[j] = second_kept[a], second_exact[a]
                        a += 1
                    else:
                        rows.kept[j], rows.values[j] = second_kept[b], second_exact[b]
                        b += 1
                    j += 1
                _finish_row(&two, row, rows.kept, rows.values, j, rows.merged, rows.weights)
        _raise_for(distinct)
    finally:
        _free_sources(&sources)
        _free_rows(&rows)
        free(second_kept)
        free(second_exact)


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


def gather_rows(
    const int64_t[::1] pool,
    const int64_t[::1] starts,
    const int64_t[::1] sizes,
    const int64_t[::1] slots,
    const int64_t[::1] per_text,
):
    """A batch's character n-gram columns from the word memo: for each ``s`` of ``slots`` (the
    texts' words, text after text; ``per_text[t]`` of them in text ``t``), the columns
    ``pool[starts[s]:starts[s] + sizes[s]]``. Returns every column's row (its text) and the columns."""
    cdef Py_ssize_t count = slots.shape[0], texts = per_text.shape[0], i, j, t, total = 0, at = 0, w = 0
    cdef int64_t slot
    for i in range(count):
        slot = slots[i]
        if slot < 0 or slot >= starts.shape[0] or slot >= sizes.shape[0]:
            raise IndexError("a slot outside the memo")
        if starts[slot] < 0 or sizes[slot] < 0 or starts[slot] + sizes[slot] > pool.shape[0]:
            raise IndexError("a word's columns outside the pool")
        total += sizes[slot]
    for t in range(texts):
        if per_text[t] < 0:
            raise ValueError("a negative word count")
        w += per_text[t]
    if w != count:
        raise ValueError("the word counts do not add up to the slots")
    rows = clone(array("q"), total, False)
    columns = clone(array("q"), total, False)
    cdef int64_t[::1] row_out = rows
    cdef int64_t[::1] out = columns
    with nogil:
        i = 0
        for t in range(texts):
            for w in range(per_text[t]):
                slot = slots[i]
                i += 1
                for j in range(starts[slot], starts[slot] + sizes[slot]):
                    row_out[at] = t
                    out[at] = pool[j]
                    at += 1
    return rows, columns


# -- strings by their code points ------------------------------------------------------------
# A comment's tokens and words are found in its text's code points and looked up in C: no string
# object per token, no list of them, no dictionary lookup from Python.

# The strings' hash is SipHash-1-3 (Python's own string hash) over their code points (16-bit
# units, four to a 64-bit word: a code point past 0xFFFE is 0xFFFF and its two halves), under a
# key drawn when the module loads: a comment's words could otherwise be
# chosen to fall in one slot of a table the process keeps (the word memo), and every later
# lookup would walk the pile. The key never leaves the process.
from os import urandom as _urandom

cdef uint64_t _KEY0 = int.from_bytes(_urandom(8), "little")
cdef uint64_t _KEY1 = int.from_bytes(_urandom(8), "little")


ctypedef struct Sip:
    uint64_t v0
    uint64_t v1
    uint64_t v2
    uint64_t v3
    uint64_t pending  # units waiting for a full word
    uint64_t count  # units so far


cdef inline uint64_t _rotl(uint64_t x, int b) noexcept:
    return (x << b) | (x >> (64 - b))


cdef inline void _sip_round(Sip* s) noexcept:
    s.v0 += s.v1
    s.v1 = _rotl(s.v1, 13) ^ s.v0
    s.v0 = _rotl(s.v0, 32)
    s.v2 += s.v3
    s.v3 = _rotl(s.v3, 16) ^ s.v2
    s.v0 += s.v3
    s.v3 = _rotl(s.v3, 21) ^ s.v0
    s.v2 += s.v1
    s.v1 = _rotl(s.v1, 17) ^ s.v2
    s.v2 = _rotl(s.v2, 32)


cdef inline void _sip_start(Sip* s) noexcept:
    s.v0 = _KEY0 ^ <uint64_t>0x736F6D6570736575
    s.v1 = _KEY1 ^ <uint64_t>0x646F72616E646F6D
    s.v2 = _KEY0 ^ <uint64_t>0x6C7967656E657261
    s.v3 = _KEY1 ^ <uint64_t>0x7465646279746573
    s.pending = 0
    s.count = 0


cdef inline void _sip_unit(Sip* s, uint64_t unit) noexcept:
    cdef int place = s.count & 3
    if place == 0:
        s.pending = unit
    else:
        s.pending |= unit << (16 * place)
    if place == 3:
        s.v3 ^= s.pending
        _sip_round(s)
        s.v0 ^= s.pending
        s.pending = 0
    s.count += 1


cdef inline void _sip_add(Sip* s, uint32_t c) noexcept:
    if c < 0xFFFF:
        _sip_unit(s, c)
    else:
        _sip_unit(s, 0xFFFF)
        _sip_unit(s, c & 0xFFFF)
        _sip_unit(s, c >> 16)


cdef inline uint64_t _sip_end(Sip* s) noexcept:
    cdef uint64_t last = (s.count << 56) | (s.pending if s.count & 3 else 0)
    s.v3 ^= last
    _sip_round(s)
    s.v0 ^= last
    s.v2 ^= 0xFF
    _sip_round(s)
    _sip_round(s)
    _sip_round(s)
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3


cdef inline uint64_t _text_hash(int kind, void* data, Py_ssize_t start, Py_ssize_t end):
    """The keyed hash of the code points of ``text[start:end]``. A one-byte text's characters are
    each one unit: four of them make a word at once (the same words as one unit at a time)."""
    cdef Sip s
    cdef Py_ssize_t i = start
    cdef const uint8_t* chars
    cdef uint64_t word
    _sip_start(&s)
    if kind == PyUnicode_1BYTE_KIND:
        chars = <const uint8_t*>data
        while i + 4 <= end:
            word = (<uint64_t>chars[i] | <uint64_t>chars[i + 1] << 16 | <uint64_t>chars[i + 2] << 32
                    | <uint64_t>chars[i + 3] << 48)
            s.v3 ^= word
            _sip_round(&s)
            s.v0 ^= word
            i += 4
        s.count = i - start
    for i in range(i, end):
        _sip_add(&s, PyUnicode_READ(kind, data, i))
    return _sip_end(&s)


def text_hash(str text):
    """The string tables' hash of ``text`` (for tests: it differs from process to process)."""
    return _text_hash(PyUnicode_KIND(text), PyUnicode_DATA(text), 0, PyUnicode_GET_LENGTH(text))


cdef inline bint _is_word(Py_UCS4 c):
    """A character of Python's ``\\w`` in a str pattern (what ``re`` reads as a word character).
    ASCII, most characters, without a call into Python's character database."""
    if c < 128:
        return (97 <= (<uint32_t>c | 32) <= 122) or (48 <= c <= 57) or c == 95
    return Py_UNICODE_ISALNUM(c)


cdef inline bint _is_mark(Py_UCS4 c):
    """A digit or one of ``$@!*``: what a disguised word mixes with its letters."""
    return (48 <= c <= 57) or c == 36 or c == 64 or c == 33 or c == 42


cdef inline bint _is_lexicon_char(Py_UCS4 c):
    """A character of the lexicon step's tokens, ``[a-z0-9_']``."""
    return (97 <= c <= 122) or (48 <= c <= 57) or c == 95 or c == 39


# The runs of characters the scanners read: word characters (scikit-learn's tokens), the lexicon
# step's characters, and characters that are not white space (``str.split()``'s words).
cdef enum:
    WORD_CHARACTERS
    LEXICON_CHARACTERS
    NOT_SPACE


cdef inline bint _in_run(Py_UCS4 c, int run):
    if run == WORD_CHARACTERS:
        return _is_word(c)
    if run == LEXICON_CHARACTERS:
        return _is_lexicon_char(c)
    return not Py_UNICODE_ISSPACE(c)


cdef inline Py_ssize_t _run_start(int kind, void* data, Py_ssize_t n, Py_ssize_t i, int run):
    """The first place from ``i`` on with a character of the run's kind (``n``: none)."""
    while i < n and not _in_run(PyUnicode_READ(kind, data, i), run):
        i += 1
    return i


cdef inline Py_ssize_t _run_end(int kind, void* data, Py_ssize_t n, Py_ssize_t i, int run):
    """The end of the run that goes on at ``i``."""
    while i < n and _in_run(PyUnicode_READ(kind, data, i), run):
        i += 1
    return i


ctypedef struct Slot:
    uint64_t hash  # compared before the string: a probe reads one place
    int64_t number


cdef inline void _place(Slot* slots, Py_ssize_t size, int shift, Slot entry) noexcept:
    """Put ``entry`` in the first free slot from its hash's place on (the table has one)."""
    cdef uint64_t mask = size - 1
    cdef uint64_t at = (entry.hash * <uint64_t>0x9E3779B97F4A7C15) >> shift
    while slots[at].number != -1:
        at = (at + 1) & mask
    slots[at] = entry


@cython.final  # its methods called directly, not through a table: they inline
cdef class Strings:
    """Strings numbered 0, 1, 2 ... in the order they are added (a vocabulary's tokens, or the
    words a head has seen), found by their code points in an open-addressing table kept at most
    half full; it grows as strings are added."""

    cdef uint32_t* points  # every string's code points, end to end
    cdef Py_ssize_t points_used, points_room
    cdef int64_t* bounds  # string i is points[bounds[i]:bounds[i + 1]]
    cdef Py_ssize_t count, room
    cdef Slot* slots  # the table: a string's hash and number (-1: an empty slot)
    cdef Py_ssize_t size
    cdef int shift

    def __cinit__(self):
        self.points = NULL
        self.bounds = NULL
        self.slots = NULL
        self._reset()

    def __dealloc__(self):
        free(self.points)
        free(self.bounds)
        free(self.slots)

    def __init__(self, strings=()):
        for text in strings:
            self.add(text)

    cdef int _reset(self) except -1:
        free(self.points)
        free(self.bounds)
        free(self.slots)
        self.points_used, self.points_room = 0, 256
        self.count, self.room, self.size, self.shift = 0, 16, 32, 64 - 5
        self.points = <uint32_t*>malloc(self.points_room * sizeof(uint32_t))
        self.bounds = <int64_t*>malloc((self.room + 1) * sizeof(int64_t))
        self.slots = <Slot*>malloc(self.size * sizeof(Slot))
        if not (self.points and self.bounds and self.slots):
            raise MemoryError()
        self.bounds[0] = 0
        cdef Py_ssize_t i
        for i in range(self.size):
            self.slots[i].number = -1
        return 0

    def clear(self):
        """Forget every string."""
        self._reset()

    def __len__(self):
        return self.count

    def __getitem__(self, Py_ssize_t number):
        """The string numbered ``number``."""
        if number < 0 or number >= self.count:
            raise IndexError("no string has this number")
        cdef Py_ssize_t start = self.bounds[number], end = self.bounds[number + 1], i
        return "".join([chr(self.points[i]) for i in range(start, end)])

    def add(self, str text):
        """The number of ``text``, added if it is new."""
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef uint64_t h = _text_hash(kind, data, 0, n)
        cdef int64_t found = self._find(kind, data, 0, n, h)
        return found if found >= 0 else self._insert(kind, data, 0, n, h)

    def find(self, str text):
        """The number of ``text``, -1 if it was never added."""
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        return self._find(kind, data, 0, n, _text_hash(kind, data, 0, n))

    cdef int64_t _find(self, int kind, void* data, Py_ssize_t start, Py_ssize_t end, uint64_t h):
        """The number of ``text[start:end]`` (``h``: its hash), -1 if it was never added."""
        return self._probe(kind, data, &start, &end, 1, h)

    cdef int64_t _find_joined(
        self, int kind, void* data, const Py_ssize_t* starts, const Py_ssize_t* ends, Py_ssize_t n
    ):
        """The number of the string ``" ".join(text[starts[s]:ends[s]] for s in range(n))``, -1
        if it was never added."""
        cdef Sip sip
        cdef Py_ssize_t s, i
        _sip_start(&sip)
        for s in range(n):
            if s:
                _sip_add(&sip, 32)
            for i in range(starts[s], ends[s]):
                _sip_add(&sip, PyUnicode_READ(kind, data, i))
        return self._probe(kind, data, starts, ends, n, _sip_end(&sip))

    cdef inline int64_t _probe(
        self, int kind, void* data, const Py_ssize_t* starts, const Py_ssize_t* ends, Py_ssize_t n, uint64_t h
    ):
        """The number of the ``n`` pieces of ``text`` joined by spaces (``h``: their hash), -1."""
        cdef Py_ssize_t s, i, at_point, length = n - 1
        for s in range(n):
            length += ends[s] - starts[s]
        cdef uint64_t mask = self.size - 1
        cdef uint64_t at = (h * <uint64_t>0x9E3779B97F4A7C15) >> self.shift
        cdef int64_t number
        cdef bint same
        while self.slots[at].number != -1:
            number = self.slots[at].number
            if self.slots[at].hash == h and self.bounds[number + 1] - self.bounds[number] == length:
                at_point = self.bounds[number]
                same = True
                for s in range(n):
                    if s:
                        same = self.points[at_point] == 32
                        at_point += 1
                    i = starts[s]
                    while same and i < ends[s]:
                        same = self.points[at_point] == PyUnicode_READ(kind, data, i)
                        at_point += 1
                        i += 1
                    if not same:
                        break
                if same:
                    return number
            at = (at + 1) & mask
        return -1

    cdef int64_t _insert(self, int kind, void* data, Py_ssize_t start, Py_ssize_t end, uint64_t h) except -1:
        """Add ``text[start:end]`` (not in the table) and return its number."""
        cdef Py_ssize_t length = end - start, i, room
        cdef void* grown
        if self.points_used + length > self.points_room:
            room = max(2 * self.points_room, self.points_used + length)
            grown = realloc(self.points, room * sizeof(uint32_t))
            if not grown:
                raise MemoryError()
            self.points, self.points_room = <uint32_t*>grown, room
        if self.count == self.room:
            room = 2 * self.room
            grown = realloc(self.bounds, (room + 1) * sizeof(int64_t))
            if not grown:
                raise MemoryError()
            self.bounds, self.room = <int64_t*>grown, room
        if 2 * (self.count + 1) > self.size:
            self._grow_table()
        for i in range(length):
            self.points[self.points_used + i] = PyUnicode_READ(kind, data, start + i)
        self.points_used += length
        cdef Slot entry
        entry.hash, entry.number = h, self.count
        self.bounds[entry.number + 1] = self.points_used
        _place(self.slots, self.size, self.shift, entry)
        self.count += 1
        return entry.number

    cdef int _grow_table(self) except -1:
        cdef Py_ssize_t size = 2 * self.size, i
        cdef Slot* slots = <Slot*>malloc(size * sizeof(Slot))
        if not slots:
            raise MemoryError()
        for i in range(size):
            slots[i].number = -1
        for i in range(self.size):
            if self.slots[i].number != -1:
                _place(slots, size, self.shift - 1, self.slots[i])
        free(self.slots)
        self.slots, self.size, self.shift = slots, size, self.shift - 1
        return 0


def _room(list texts):
    """At most how many tokens or words the texts have (one per two characters, rounded up)."""
    cdef Py_ssize_t room = 0
    for text in texts:
        if not isinstance(text, str):
            raise TypeError("the texts must be str")
        room += (PyUnicode_GET_LENGTH(text) + 1) // 2
    return room


# The kinds of Runs, for Python: scikit-learn's tokens (word characters), str.split()'s words.
TOKENS = WORD_CHARACTERS
WORDS = NOT_SPACE


cdef class Runs:
    """A batch's runs of one kind, each with its keyed hash: runs of word characters (``re``'s
    ``\\w``) at least ``shortest`` long (``WORD_CHARACTERS``), or of characters that are not
    white space (``NOT_SPACE``: ``str.split()``'s words). Read and hashed once, then looked up in
    each table that numbers them (both heads read the same batch)."""

    cdef readonly list texts
    cdef readonly int run, shortest
    cdef int64_t* bounds  # run i is texts[...][bounds[2i]:bounds[2i + 1]]
    cdef uint64_t* hashes
    cdef int64_t* per_text  # how many runs each text has
    cdef readonly Py_ssize_t count

    def __cinit__(self, list texts, int run, int shortest=1):
        if run != WORD_CHARACTERS and run != NOT_SPACE:
            raise ValueError("runs of word characters or of characters that are not white space")
        if shortest < 1:
            raise ValueError("runs are at least one character long")
        cdef Py_ssize_t room = _room(texts), used = 0, t = 0, first, i, j, n
        cdef int kind
        cdef void* data
        self.texts = list(texts)
        self.run, self.shortest = run, shortest
        self.bounds = <int64_t*>malloc((2 * room + 1) * sizeof(int64_t))
        self.hashes = <uint64_t*>malloc((room + 1) * sizeof(uint64_t))
        self.per_text = <int64_t*>malloc((len(texts) + 1) * sizeof(int64_t))
        if not (self.bounds and self.hashes and self.per_text):
            raise MemoryError()
        for text in self.texts:
            n = PyUnicode_GET_LENGTH(text)
            kind = PyUnicode_KIND(text)
            data = PyUnicode_DATA(text)
            first = used
            i = _run_start(kind, data, n, 0, run)
            while i < n:
                j = _run_end(kind, data, n, i + 1, run)
                if j - i >= shortest:
                    self.bounds[2 * used], self.bounds[2 * used + 1] = i, j
                    self.hashes[used] = _text_hash(kind, data, i, j)
                    used += 1
                i = _run_start(kind, data, n, j, run)
            self.per_text[t] = used - first
            t += 1
        self.count = used

    def __dealloc__(self):
        free(self.bounds)
        free(self.hashes)
        free(self.per_text)


def token_numbers(Strings vocabulary, Runs tokens, int64_t outside):
    """The texts' tokens as scikit-learn's word analyzer finds them with the token pattern
    ``(?u)\\b\\w+\\b`` (``shortest`` 1) or ``(?u)\\b\\w\\w+\\b`` (2): ``tokens``, runs of word
    characters at least ``shortest`` long, by their number in ``vocabulary``, ``outside`` for a
    token not in it. Returns every text's numbers, each text followed by ``outside``, and the
    place of that separator (each text's end)."""
    if tokens.run != WORD_CHARACTERS:
        raise ValueError("tokens are runs of word characters")
    ids = clone(array("q"), tokens.count + len(tokens.texts), False)
    ends = clone(array("q"), len(tokens.texts), False)
    cdef int64_t[::1] out = ids
    cdef int64_t[::1] text_ends = ends
    cdef Py_ssize_t used = 0, t = 0, r = 0, last
    cdef int kind
    cdef void* data
    cdef int64_t number
    for text in tokens.texts:
        kind = PyUnicode_KIND(text)
        data = PyUnicode_DATA(text)
        last = r + tokens.per_text[t]
        while r < last:
            number = vocabulary._find(kind, data, tokens.bounds[2 * r], tokens.bounds[2 * r + 1], tokens.hashes[r])
            out[used] = number if number >= 0 else outside
            used += 1
            r += 1
        text_ends[t] = used
        out[used] = outside
        used += 1
        t += 1
    return ids[:used], ends


def word_slots(Strings memo, Runs words):
    """The texts' words as ``str.split()`` makes them (``words``: runs of characters that are not
    white space) by their number in ``memo``, adding the words it does not have. Returns the
    numbers, text after text, how many words each text has, and the words added, in number
    order."""
    if words.run != NOT_SPACE or words.shortest != 1:
        raise ValueError("words are runs of characters that are not white space")
    slots = clone(array("q"), words.count, False)
    counts = clone(array("q"), len(words.texts), False)
    cdef int64_t[::1] out = slots
    cdef int64_t[::1] per_text = counts
    cdef list added = []
    cdef Py_ssize_t t = 0, r = 0, last, i, j
    cdef int kind
    cdef void* data
    cdef int64_t number
    for text in words.texts:
        kind = PyUnicode_KIND(text)
        data = PyUnicode_DATA(text)
        last = r + words.per_text[t]
        per_text[t] = words.per_text[t]
        while r < last:
            i, j = words.bounds[2 * r], words.bounds[2 * r + 1]
            number = memo._find(kind, data, i, j, words.hashes[r])
            if number < 0:
                number = memo._insert(kind, data, i, j, words.hashes[r])
                added.append(PyUnicode_Substring(text, i, j))
            out[r] = number
            r += 1
        t += 1
    return slots, counts, added


# -- the lexicon step's counts --------------------------------------------------------------------

cdef class LexiconCounts:
    """The counts the lexicon step takes the log of (``compiled._LexiconMatcher``, which gives
    the same numbers in Python): each word list's hits among a text's tokens (``[a-z0-9_']+``),
    a phrase's lists counted at its first token; the hits of the ``addressed`` lists with a
    ``second`` list token among the ``window`` tokens before; the hits of the ``near`` lists
    with an ``identity`` list token within ``window`` tokens either side; the ``context_only``
    lists' own counts then set to 0. A token's lists are those of the same string in ``exact``
    and of its first n characters in ``prefix``, for each n of ``prefix_lengths`` (dicts of
    string to list numbers, as ``compiled._LexiconMatcher._lists_of`` reads them), looked up the
    first time it is met and remembered (at most ``remember`` tokens; then the memo starts
    again)."""

    cdef Strings seen
    cdef uint64_t* masks  # per token seen: bit i set when it is in list i
    cdef unsigned char* starts_phrase
    cdef Py_ssize_t room, remember
    cdef Strings phrases
    cdef uint64_t* phrase_masks
    cdef Strings exact, prefixes, firsts
    cdef uint64_t* exact_masks
    cdef uint64_t* prefix_masks
    cdef list prefix_lengths
    cdef list phrase_lengths
    cdef int second, identity, window, lists
    cdef readonly int width
    cdef list addressed, near, context_only

    def __cinit__(self):
        self.masks = NULL
        self.starts_phrase = NULL
        self.phrase_masks = NULL
        self.exact_masks = NULL
        self.prefix_masks = NULL

    def __dealloc__(self):
        free(self.masks)
        free(self.starts_phrase)
        free(self.phrase_masks)
        free(self.exact_masks)
        free(self.prefix_masks)

    def __init__(
        self,
        dict exact,
        dict prefix,
        list prefix_lengths,
        int lists,
        dict phrases,
        list phrase_lengths,
        int second,
        int identity,
        list addressed,
        list near,
        list context_only,
        int window,
        Py_ssize_t remember,
    ):
        if not 0 < lists <= 64:
            raise ValueError("between 1 and 64 word lists")
        for index in [second, identity, *addressed, *near, *context_only]:
            if not 0 <= index < lists:
                raise ValueError("a list index outside the lists")
        self.lists = lists
        self.second, self.identity, self.window = second, identity, window
        self.addressed, self.near, self.context_only = list(addressed), list(near), list(context_only)
        self.width = lists + len(addressed) + len(near)
        self.phrase_lengths = [int(n) for n in phrase_lengths if n >= 1]
        self.remember = max(remember, 1)
        self.phrases = Strings()
        self.phrase_masks = <uint64_t*>malloc((len(phrases) + 1) * sizeof(uint64_t))
        if not self.phrase_masks:
            raise MemoryError()
        for phrase, indices in phrases.items():
            self.phrase_masks[self.phrases.add(phrase)] = self._mask(indices)
        self.firsts = Strings(phrase.split()[0] for phrase in phrases if phrase.split())
        self.exact = self._masked(exact, &self.exact_masks)
        self.prefixes = self._masked(prefix, &self.prefix_masks)
        self.prefix_lengths = sorted({int(n) for n in prefix_lengths if n >= 1})
        self.seen = Strings()
        self.room = 0

    cdef Strings _masked(self, dict lists_of, uint64_t** masks):
        """The strings of ``lists_of`` numbered in a table; ``masks[0]``: each one's lists (the
        caller's field, which frees it)."""
        cdef Strings table = Strings()
        masks[0] = <uint64_t*>calloc(len(lists_of) + 1, sizeof(uint64_t))
        if not masks[0]:
            raise MemoryError()
        for text, indices in lists_of.items():
            masks[0][table.add(text)] |= self._mask(indices)
        return table

    cdef uint64_t _mask(self, indices) except? 0:
        cdef uint64_t mask = 0
        for index in indices:
            if not 0 <= index < self.lists:
                raise ValueError("a list index outside the lists")
            mask |= (<uint64_t>1) << <int>index
        return mask

    cdef int64_t _learn(self, int kind, void* data, Py_ssize_t start, Py_ssize_t end, uint64_t h) except -2:
        """Remember a new token's lists and whether a phrase starts with it; its number."""
        cdef uint64_t mask = 0
        cdef int64_t found = self.exact._find(kind, data, start, end, h)
        cdef Py_ssize_t length
        if found >= 0:
            mask = self.exact_masks[found]
        for length in self.prefix_lengths:
            if length <= end - start:
                found = self.prefixes._find(
                    kind, data, start, start + length, _text_hash(kind, data, start, start + length)
                )
                if found >= 0:
                    mask |= self.prefix_masks[found]
        cdef bint first = self.firsts._find(kind, data, start, end, h) >= 0
        cdef void* grown
        cdef Py_ssize_t room
        if len(self.seen) >= self.remember:
            self.seen.clear()
        cdef int64_t number = self.seen._insert(kind, data, start, end, h)
        if number >= self.room:
            room = max(2 * self.room, 1024)
            grown = realloc(self.masks, room * sizeof(uint64_t))
            if not grown:
                self.seen.clear()
                raise MemoryError()
            self.masks = <uint64_t*>grown
            grown = realloc(self.starts_phrase, room * sizeof(unsigned char))
            if not grown:
                self.seen.clear()
                raise MemoryError()
            self.starts_phrase, self.room = <unsigned char*>grown, room
        self.masks[number] = mask
        self.starts_phrase[number] = first
        return number

    def count(self, list texts, float[:, ::1] out):
        """Fill ``out`` (a row per text, ``width`` columns; zeros) with each text's counts."""
        if out.shape[0] != len(texts) or out.shape[1] != self.width:
            raise ValueError("out does not fit the texts")
        cdef Py_ssize_t t = 0, n, i, j, tokens, room = 0, last
        cdef int kind, b, a
        cdef void* data
        cdef uint64_t h, mask
        cdef int64_t number
        for text in texts:
            if not isinstance(text, str):
                raise TypeError("the texts must be str")
            room = max(room, (PyUnicode_GET_LENGTH(text) + 1) // 2 + 1)
        cdef Py_ssize_t* starts = <Py_ssize_t*>malloc(room * sizeof(Py_ssize_t))
        cdef Py_ssize_t* ends = <Py_ssize_t*>malloc(room * sizeof(Py_ssize_t))
        cdef uint64_t* hits = <uint64_t*>malloc(room * sizeof(uint64_t))
        cdef Py_ssize_t* next_identity = <Py_ssize_t*>malloc(room * sizeof(Py_ssize_t))
        cdef unsigned char* firsts = <unsigned char*>malloc(room * sizeof(unsigned char))
        cdef uint64_t addressed_bits = self._mask(self.addressed), near_bits = self._mask(self.near)
        cdef uint64_t second_bit = (<uint64_t>1) << self.second, identity_bit = (<uint64_t>1) << self.identity
        cdef Py_ssize_t window = self.window, last_second, last_identity
        try:
            if not (starts and ends and hits and next_identity and firsts):
                raise MemoryError()
            for text in texts:
                n = PyUnicode_GET_LENGTH(text)
                kind = PyUnicode_KIND(text)
                data = PyUnicode_DATA(text)
                # The tokens and their lists.
                tokens = 0
                i = _run_start(kind, data, n, 0, LEXICON_CHARACTERS)
                while i < n:
                    j = _run_end(kind, data, n, i + 1, LEXICON_CHARACTERS)
                    h = _text_hash(kind, data, i, j)
                    number = self.seen._find(kind, data, i, j, h)
                    if number < 0:
                        number = self._learn(kind, data, i, j, h)
                    starts[tokens], ends[tokens] = i, j
                    hits[tokens] = self.masks[number]
                    firsts[tokens] = self.starts_phrase[number]
                    tokens += 1
                    i = _run_start(kind, data, n, j, LEXICON_CHARACTERS)
                # A phrase's lists, at its first token.
                for i in range(tokens):
                    if firsts[i]:
                        for length in self.phrase_lengths:
                            if i + <Py_ssize_t>length <= tokens:
                                number = self.phrases._find_joined(kind, data, starts + i, ends + i, length)
                                if number >= 0:
                                    hits[i] |= self.phrase_masks[number]
                # The nearest identity token at or after each place.
                last = tokens + window + 1  # none
                for i in range(tokens - 1, -1, -1):
                    if hits[i] & identity_bit:
                        last = i
                    next_identity[i] = last
                last_second = -window - 1
                last_identity = -window - 1
                for i in range(tokens):
                    mask = hits[i]
                    if mask:
                        for b in range(self.lists):
                            if mask & ((<uint64_t>1) << b):
                                out[t, b] += 1
                        if mask & addressed_bits and last_second >= i - window:
                            for a, b in enumerate(self.addressed):
                                if mask & ((<uint64_t>1) << b):
                                    out[t, self.lists + a] += 1
                        if mask & near_bits and (last_identity >= i - window or next_identity[i] <= i + window):
                            for a, b in enumerate(self.near):
                                if mask & ((<uint64_t>1) << b):
                                    out[t, self.lists + len(self.addressed) + a] += 1
                    if mask & second_bit:
                        last_second = i
                    if mask & identity_bit:
                        last_identity = i
                for b in self.context_only:
                    out[t, b] = 0
                t += 1
        finally:
            free(starts)
            free(ends)
            free(hits)
            free(next_identity)
            free(firsts)


# -- what preparing a text needs ------------------------------------------------------------------

cdef inline bint _is_separator(Py_UCS4 c):
    """A character ``_SPACED`` takes between spaced-out letters, ``[ .-_*]``."""
    return c == 32 or c == 46 or c == 45 or c == 95 or c == 42


# What prepare_needs asks of a character, for the 128 ASCII ones: a letter ``[a-z]``, a mark
# (:func:`_is_mark`), a word character (:func:`_is_word`), a separator (:func:`_is_separator`).
cdef enum:
    _LETTER = 1
    _MARK = 2
    _WORD = 4
    _SEPARATOR = 8

cdef unsigned char _ASCII_CLASSES[128]
for _c in range(128):
    _ASCII_CLASSES[_c] = (
        (_LETTER if 97 <= _c <= 122 else 0)
        | (_MARK if _is_mark(_c) else 0)
        | (_WORD if _is_word(_c) else 0)
        | (_SEPARATOR if _is_separator(_c) else 0)
    )


def prepare_needs(str text):
    """Which of ``textprep.prepare``'s substitutions can change ``text`` (a folded text), by
    what each must find: 1, letters spaced out (``_SPACED``: a letter ``[a-z]`` starting a word,
    then at least twice a separator ``[ .-_*]`` and a letter, the last letter ending a word);
    2, a disguised word (``_DISGUISED``: a run of ``[\\w$@!*]`` at least two long with a letter
    and one of ``[0-9$@!*]``); 4, a letter stretched (``_STRETCH``: the same letter three
    times in a row). A bit that is not set means that substitution would find nothing. One pass
    over the characters."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, run = 0, chain = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef int needs = 0, letters = 0, flags
    cdef bint letter, mark, word, has_letter = False, has_mark = False
    cdef bint after_letter = False  # in a chain of spaced letters, just after one of them
    cdef bint previous_word = False
    cdef Py_UCS4 c, previous = 0
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        # What the character is, from a table for ASCII (beyond it, only a word character).
        flags = _ASCII_CLASSES[c] if c < 128 else (_WORD if Py_UNICODE_ISALNUM(c) else 0)
        letter = flags & _LETTER
        mark = flags & _MARK
        word = flags & _WORD
        # Stretched.
        letters = letters + 1 if letter and c == previous else (1 if letter else 0)
        if letters >= 3:
            needs |= 4
        # Disguised.
        if mark or word:
            run += 1
            has_letter = has_letter or letter
            has_mark = has_mark or mark
            if run >= 2 and has_letter and has_mark:
                needs |= 2
        else:
            run, has_letter, has_mark = 0, False, False
        # Spaced: ``chain`` letters so far, each but the last followed by one separator. A chain
        # from the earliest start holds every later one (a letter after a separator that is not
        # a word character starts a word too), so one chain at a time is enough.
        if chain and after_letter:
            if chain >= 3 and not word:
                needs |= 1
            if flags & _SEPARATOR:
                after_letter = False
            else:
                chain = 0
        elif chain:  # after a separator
            if letter:
                chain += 1
                after_letter = True
            else:
                chain = 0
        if not chain and letter and not previous_word:
            chain, after_letter = 1, True
        previous, previous_word = c, word
    if chain >= 3 and after_letter:
        needs |= 1
    return needs


# -- the lexicon's features -----------------------------------------------------------------------

def lexicon_cells(const float[:, ::1] counts, const float[::1] value_of, int64_t offset):
    """A batch's non-zero lexicon features from its counts (rows, lists), sorted by row then
    column: their rows, their columns (``offset`` plus the count's own) and their values
    (``value_of[count]``: the caller's table of the features' values by count). None when a
    count is not a whole number below ``len(value_of)``: the caller grows its table, or computes
    the values itself."""
    cdef Py_ssize_t n = counts.shape[0], w = counts.shape[1], i, j, found = 0, at = 0
    cdef float count
    cdef Py_ssize_t most = value_of.shape[0]
    for i in range(n):
        for j in range(w):
            count = counts[i, j]
            if count != 0:
                if not (0 < count < most) or count != <float><Py_ssize_t>count:
                    return None
                found += 1
    rows = clone(array("q"), found, False)
    columns = clone(array("q"), found, False)
    values = clone(array("f"), found, False)
    cdef int64_t[::1] out_rows = rows
    cdef int64_t[::1] out_columns = columns
    cdef float[::1] out_values = values
    for i in range(n):
        for j in range(w):
            count = counts[i, j]
            if count != 0:
                out_rows[at] = i
                out_columns[at] = offset + j
                out_values[at] = value_of[<Py_ssize_t>count]
                at += 1
    return rows, columns, values


# -- the allocator ---------------------------------------------------------------------------------

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int moderation_keep_heap(int mmap_threshold, int trim_threshold) {
        return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
    }
    #else
    static int moderation_keep_heap(int mmap_threshold, int trim_threshold) { return 0; }
    #endif
    """
    int moderation_keep_heap(int mmap_threshold, int trim_threshold)


def keep_heap(int mmap_threshold, int trim_threshold):
    """glibc's malloc: blocks below ``mmap_threshold`` bytes come from the heap, and the heap keeps
    up to ``trim_threshold`` bytes free at its top instead of handing them back. A batch's arrays
    (a few MB) are then the same pages batch after batch, not fresh pages the kernel must fault in
    and zero. False where the C library is not glibc (nothing changes)."""
    if mmap_threshold < 0 or trim_threshold < 0:
        raise ValueError("thresholds are sizes in bytes")
    return bool(moderation_keep_heap(mmap_threshold, trim_threshold))


# -- undoing disguises ----------------------------------------------------------------------------

cdef extern from "Python.h":
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)
    bint Py_UNICODE_ISALPHA(Py_UCS4 ch)


cdef inline Py_UCS4 _leet(Py_UCS4 c):
    """``textprep._LEET``: 0 o, 1 i, 3 e, 4 a, 5 s, 7 t, $ s, @ a, ! i."""
    if c == 48:
        return 111
    if c == 49 or c == 33:
        return 105
    if c == 51:
        return 101
    if c == 52 or c == 64:
        return 97
    if c == 53 or c == 36:
        return 115
    if c == 55:
        return 116
    return c


def undisguise(str text):
    """``textprep._DISGUISED.sub(textprep._undisguise, text)``: each run of ``[\\\\w$@!*]`` at
    least two long with a letter ``[a-z]`` and one of ``[0-9$@!*]``, when it has a letter
    (``str.isalpha``) before its trailing "!"s, has that part de-leeted (``_LEET``) and each run
    of "*" between two letters ``[a-z]`` made one "_" (``_MASK``); the trailing "!"s stay."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0, j, k, x, used = 0, stars
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef Py_UCS4 c
    cdef bint letter, mark, alpha, changed = False
    cdef Py_UCS4* out = <Py_UCS4*>malloc((n + 1) * sizeof(Py_UCS4))
    if not out:
        raise MemoryError()
    try:
        while i < n:
            c = PyUnicode_READ(kind, data, i)
            if not (_is_mark(c) or _is_word(c)):
                out[used] = c
                used += 1
                i += 1
                continue
            j, letter, mark = i, False, False
            while j < n:
                c = PyUnicode_READ(kind, data, j)
                if not (_is_mark(c) or _is_word(c)):
                    break
                letter = letter or 97 <= c <= 122
                mark = mark or _is_mark(c)
                j += 1
            k = j  # the run without its trailing "!"s
            while k > i and PyUnicode_READ(kind, data, k - 1) == 33:
                k -= 1
            alpha = False
            if j - i >= 2 and letter and mark:
                for x in range(i, k):
                    if Py_UNICODE_ISALPHA(PyUnicode_READ(kind, data, x)):
                        alpha = True
                        break
            if not alpha:
                for x in range(i, j):
                    out[used] = PyUnicode_READ(kind, data, x)
                    used += 1
                i = j
                continue
            changed = True
            x = i
            while x < k:
                c = _leet(PyUnicode_READ(kind, data, x))
                if c == 42 and used > 0 and x > i and 97 <= out[used - 1] <= 122:
                    stars = x
                    while stars < k and PyUnicode_READ(kind, data, stars) == 42:
                        stars += 1
                    if stars < k and 97 <= _leet(PyUnicode_READ(kind, data, stars)) <= 122:
                        out[used] = 95  # "_"
                        used += 1
                        x = stars
                        continue
                out[used] = c
                used += 1
                x += 1
            for x in range(k, j):
                out[used] = PyUnicode_READ(kind, data, x)
                used += 1
            i = j
        if not changed:
            return text
        return PyUnicode_FromKindAndData(4, out, used)
    finally:
        free(out)
