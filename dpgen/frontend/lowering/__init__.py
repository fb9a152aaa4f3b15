"""Lowering: libcst tree -> IR in A-normal form, one module per job.

Each source expression becomes equations that apply one primitive each, named by the
qualified name the rule table uses: ``a * b``, ``np.multiply(a, b)`` and
``from numpy import multiply; multiply(a, b)`` all become ``numpy.multiply``, because
names are resolved through libcst's qualified-name metadata, never by spelling.

Variables are renamed on rebinding (``h``, then ``h_2``) so every value the pullback
reads is still there; literal constants are propagated instead of bound. Problems are
reported into the sink with locations; lowering goes on so one run reports them all.

`driver` holds the `Lowering` state object and `lower`; its body is lowered by the mixins
`blocks` (statement lists, branches, loops, outlining), `statements` (assignments),
`aliasing` (memory sharing checks), `expressions` and `calls`. `tables` holds what syntax
means (read off the rule table), `scope` one function's state, `syntax` and `atoms` pure
functions on libcst nodes and IR atoms. `dpgen.frontend.lower` re-exports the public names.
"""
