"""``python -m benchmarks``: the benchmark suite (the same arguments as ``optsupply bench``).

See :mod:`optsupply.bench.suite` and benchmarks/README.md.
"""

import sys

from optsupply.bench.suite import main

sys.exit(main())
