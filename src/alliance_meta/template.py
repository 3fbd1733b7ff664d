"""``python -m alliance_meta.template PATH.xlsx [--from SHEET] [--force]``: write the template
workbook for coding studies (:mod:`alliance_meta.inputs.template`)."""

import sys

from alliance_meta.inputs.template import main, write_template

__all__ = ["main", "write_template"]

if __name__ == "__main__":
    sys.exit(main())
