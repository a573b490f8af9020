"""`python -m cli`: the `paygraph` command without its installed script."""

from cli import main

main()
