"""Time iwkmeans against scikit-learn: ``python bench/compare.py [--quick] ...``.

A shortcut for ``python -m iwkmeans bench ...``; it runs the same code
(:mod:`iwkmeans.benchmark`) and takes the same options.
"""

import sys

from iwkmeans.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
