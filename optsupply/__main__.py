import sys

from optsupply.cli import main

sys.exit(main())
