"""`python -m pinwarden`: the same as the `pinwarden` command."""

import sys

from .cli import main

sys.exit(main())
