"""`python -m pinwarden`: the same as the `pinwarden` command."""

import sys

from .entry import main

sys.exit(main())
