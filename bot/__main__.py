"""Allow ``python -m bot`` as a synonym for the ``clgbt`` command."""

from bot.cli import main

raise SystemExit(main())
