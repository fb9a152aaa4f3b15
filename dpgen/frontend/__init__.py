"""The front end: Python source (read with libcst, never run) -> IR.

`source` reads and parses the file and resolves what names refer to (`resolve`); `fence`
refuses what dpgen cannot differentiate, with located errors; `regions` and `lower` turn
each function into A-normal-form IR, outlining branch arms and loop bodies. This package
is the only code that imports libcst.
"""
