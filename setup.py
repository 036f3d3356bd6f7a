"""Build configuration beyond pyproject.toml: the parser's optional C accelerators.

The hot loops of the `-m=2` parser (bot/gc/_scan.c and friends) are compiled when a C compiler
and Python's headers are at hand; `optional=True` lets an install without them succeed, and the
parser then runs its pure-Python path, which gives the same records (tests/test_native.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bot.gc._scan", ["bot/gc/_scan.c"], optional=True),
        Extension("bot.gc._flows", ["bot/gc/_flows.c"], optional=True),
    ]
)
