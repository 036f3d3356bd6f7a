"""`python -m bot` is `escape-bot`."""

import sys

from bot.cli import main

sys.exit(main())
