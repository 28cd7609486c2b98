import sys

from bot.processes.cli import main

sys.exit(main())
