"""`python -m app` is the `kakehashi` command."""

from app.cli import main

main()
