"""Write chalicelib/data/registration-list.xlsx, the blank registration list the dashboard offers (the
contract's header, one example row, every column formatted as text). Re-run after changing the header or
the example, from the repository root:

    .venv/bin/python tools/gen_import_template.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.api.dashboard.imports import TEMPLATE_EXAMPLE, TEMPLATE_FILE
from chalicelib.domain import registration, workbook

if __name__ == "__main__":
    TEMPLATE_FILE.write_bytes(workbook.template(registration.FIELDS, TEMPLATE_EXAMPLE))
    print(f"wrote {TEMPLATE_FILE}")
