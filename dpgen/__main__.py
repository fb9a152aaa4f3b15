"""`python -m dpgen`: the same command line as the `dpgen` script."""

from dpgen.cli import main

main()
