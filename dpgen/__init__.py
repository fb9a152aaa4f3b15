"""dpgen: source-to-source automatic differentiation for NumPy modules.

The public entry points are the `dpgen` command (see `dpgen.cli`) and
`dpgen.pipeline.generate`, which turns one source text into one generated module.
"""

__version__ = "0.1.0"
