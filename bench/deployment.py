"""Figure 5: what ``chalice package --stage prod`` ships, from ``bench.package_sizes.package``.

Besides the zipped and unzipped size of the function zip and the layer zip, the layer is broken down by
top-level entry of its ``site-packages``, and both zips are searched for things a Lambda never uses.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.package_sizes import package

STAGE = "prod"
SITE_PACKAGES = re.compile(r"^python/lib/python3\.\d+/site-packages/")
# boto3 and what it pulls in; the Python runtime ships a copy, the layer pins its own.
SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Files a Lambda never reads: test tools, caches, docs. Type stubs and C sources are listed apart: they
# come inside third-party wheels and only cost bytes.
UNWANTED = {
    "byte-code caches": re.compile(r"(^|/)__pycache__/|\.pyc$"),
    "test tools": re.compile(
        r"(^|/)(moto|pytest|_pytest|playwright|hypothesis|chalice/test\.py)(/|$|-[\d.]+\.dist-info/)"
    ),
    "test suites": re.compile(r"(^|/)tests?/"),
    "docs": re.compile(r"^(?!.*\.dist-info/).*\.(rst|md)$", re.IGNORECASE),
    "type stubs, C sources": re.compile(r"\.(pyi|c|h)$|(^|/)py\.typed$"),
}


@dataclass
class Deployment:
    sizes: dict[str, int]  # bench.package_sizes.package's answer
    layer_packages: list[tuple[str, int, int]]  # (top-level entry, unzipped, zipped), largest first
    function_files: int
    layer_files: int
    unwanted: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # kind -> (path, unzipped bytes)

    @property
    def sdk_unzipped(self) -> int:
        return sum(u for name, u, _ in self.layer_packages if _sdk(name))

    @property
    def sdk_zipped(self) -> int:
        return sum(z for name, _, z in self.layer_packages if _sdk(name))


def _sdk(name: str) -> bool:
    base = name.split("-")[0] if name.endswith(".dist-info") else name
    return base.replace("python_dateutil", "dateutil") in SDK or name.startswith(("boto3-", "botocore-"))


def _top_level(path: str) -> str:
    return SITE_PACKAGES.sub("", path).split("/", 1)[0]


def measure(stage: str = STAGE) -> Deployment:
    with tempfile.TemporaryDirectory(prefix="ef-bench-package-") as tmp:
        out = Path(tmp) / "out"
        sizes = package(stage, out)
        with zipfile.ZipFile(out / "layer-deployment.zip") as layer, zipfile.ZipFile(out / "deployment.zip") as fn:
            unzipped: Counter[str] = Counter()
            zipped: Counter[str] = Counter()
            for info in layer.infolist():
                unzipped[_top_level(info.filename)] += info.file_size
                zipped[_top_level(info.filename)] += info.compress_size
            unwanted: dict[str, list[tuple[str, int]]] = {}
            files = [
                *((f"layer:{SITE_PACKAGES.sub('', i.filename)}", i.filename, i.file_size) for i in layer.infolist()),
                *((f"function:{i.filename}", i.filename, i.file_size) for i in fn.infolist()),
            ]
            for kind, pattern in UNWANTED.items():
                hits = [(label, size) for label, path, size in files if pattern.search(path)]
                if hits:
                    unwanted[kind] = hits
            layer_files, function_files = len(layer.namelist()), len(fn.namelist())
    ranked = sorted(((name, unzipped[name], zipped[name]) for name in unzipped), key=lambda row: -row[1])
    return Deployment(sizes, ranked, function_files, layer_files, unwanted)
