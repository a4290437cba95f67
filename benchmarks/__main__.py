"""``python -m benchmarks``: the benchmark suite (the same arguments as ``optsupply bench``).

See :mod:`benchmarks.suite` and benchmarks/README.md.
"""

import sys

from benchmarks.suite import main

sys.exit(main())
