"""`python -m diffuserve`: the command line, as the `diffuserve` console script runs it."""

from diffuserve.cli import main

raise SystemExit(main())
