"""``python -m bridge.server``: run the bridge (see ``bridge.server.commands``)."""

from bridge.server.commands import main

raise SystemExit(main())
