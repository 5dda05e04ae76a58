"""`python -m ivrflow` is the `ivrflow` command."""

from ivrflow.cli import main

raise SystemExit(main())
