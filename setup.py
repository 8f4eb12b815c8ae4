"""Builds the scoring kernel in place (`make setup` runs `python setup.py build_ext --inplace`).

The project is not installed as a package: this only compiles ``moderation/classifier/_linear.pyx``
(the classifier's kernel) and ``moderation/text/_sentences.pyx`` (the sentence splitter) next to
their sources. Without them the numpy and ``re`` code runs, with the same results.
"""

from Cython.Build import cythonize
from setuptools import setup

setup(
    ext_modules=cythonize(
        ["moderation/classifier/_linear.pyx", "moderation/text/_sentences.pyx"], language_level=3, quiet=True
    ),
    packages=[],
)
