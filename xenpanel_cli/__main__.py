"""`python -m xenpanel_cli`: the same as the `xenpanel-cli` console script."""

from xenpanel_cli.main import main

raise SystemExit(main())
