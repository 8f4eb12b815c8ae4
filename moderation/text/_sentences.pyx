# cython: language_level=3, boundscheck=False, wraparound=False
"""``sentences.sentence_spans`` in C: the same spans, found in one pass over the characters
instead of a regular expression with a look-behind tried at every character. Built by `make
setup` beside the classifier's kernel; without it the regular expression runs."""

from cpython.unicode cimport (
    Py_UNICODE_ISSPACE,
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
)


cdef inline bint _closing(Py_UCS4 c):
    """A closing quote or bracket after a sentence's stop: ``["')\\]]``."""
    return c == 34 or c == 39 or c == 41 or c == 93


cdef inline bint _stop(Py_UCS4 c):
    return c == 46 or c == 33 or c == 63


def sentence_spans(str text):
    """``(start, end)`` of each sentence, white space trimmed, empty pieces left out. Sentences
    end where ``(?<=[.!?])["')\\]]*\\s+|\\n+`` matches (``re.finditer``: left to right, a match
    where the first alternative fails at a place tried with the second)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), p = 0, q, r, start = 0, end, a, b
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef list spans = []
    cdef bint found
    while p <= n:
        found = False
        if p == n:
            end, q = n, n  # the last piece
        else:
            q = p
            if p > 0 and _stop(PyUnicode_READ(kind, data, p - 1)):
                while q < n and _closing(PyUnicode_READ(kind, data, q)):
                    q += 1
                r = q
                while r < n and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, r)):
                    r += 1
                if r > q:
                    found, end, q = True, p, r
            if not found and PyUnicode_READ(kind, data, p) == 10:
                r = p
                while r < n and PyUnicode_READ(kind, data, r) == 10:
                    r += 1
                found, end, q = True, p, r
            if not found:
                p += 1
                continue
        # The piece before the boundary, trimmed.
        a, b = start, end
        while a < b and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, a)):
            a += 1
        while b > a and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, b - 1)):
            b -= 1
        if b > a:
            spans.append((a, b))
        if p == n:
            break
        start = p = q
    return spans
