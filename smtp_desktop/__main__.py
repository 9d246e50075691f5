"""`python -m smtp_desktop`."""

import sys

from smtp_desktop.app import main

sys.exit(main())
