"""Start Reframe: settings -> build the app -> run (Socket Mode or HTTP)."""

from __future__ import annotations

import sys

from bot.processes.runner import main

if __name__ == "__main__":
    sys.exit(main())
