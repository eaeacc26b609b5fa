"""infra/template.json, read once: the resources the local stack provisions and the deploy creates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devstack.provision import TEMPLATE

TEMPLATE_JSON: dict[str, Any] = json.loads(Path(TEMPLATE).read_text(encoding="utf-8"))
RESOURCES: dict[str, Any] = TEMPLATE_JSON["Resources"]
