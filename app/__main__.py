"""`python -m app` is the `kakehashi` command."""

from app.cli import main

if __name__ == "__main__":  # not when a child process (app.bootstrap) imports it
    main()
