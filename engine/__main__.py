"""`python -m engine` is the `ivrflow` command."""

from engine.cli import main

raise SystemExit(main())
