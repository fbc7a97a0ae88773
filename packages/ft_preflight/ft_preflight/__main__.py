"""`python -m ft_preflight`: the preflight, JSON request on stdin, JSON report on stdout."""

import sys

from ft_preflight.cli import main

sys.exit(main())
