"""Builds the scoring kernel in place (`make setup` runs `python setup.py build_ext --inplace`).

The project is not installed as a package: this only compiles ``moderation/classifier/_linear.pyx``
next to its source. Without the result the numpy code scores, with the same numbers.
"""

from Cython.Build import cythonize
from setuptools import setup

setup(
    ext_modules=cythonize(["moderation/classifier/_linear.pyx"], language_level=3, quiet=True),
    packages=[],
)
