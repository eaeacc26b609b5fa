"""DynamoDB's size and capacity rules, computed from raw items: moto's ConsumedCapacity is hard-coded.

Rules (docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html and
CapacityUnitCalculations.html):

- item size = for every attribute, the UTF-8 bytes of its name plus the size of its value;
- string: UTF-8 bytes; number: 1 byte + 1 byte per two significant digits; binary: its bytes;
  boolean and null: 1 byte; sets: the sum of their elements;
- map and list: 3 bytes + for each element 1 byte (+ the key's bytes for a map) + the element's size;
- reads: 1 RCU per 4 KB strongly consistent, half that eventually consistent (EC). GetItem rounds its
  item up to 4 KB; Query adds up every returned item of one request and *then* rounds up to 4 KB;
  a request that returns nothing still costs the minimum (1 RCU strongly consistent, 0.5 EC);
- writes: 1 WCU per 1 KB of the larger of the item's before and after image; 2× inside a transaction.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from typing import Any

READ_UNIT = 4096
WRITE_UNIT = 1024

AttributeValue = Mapping[str, Any]
RawItem = Mapping[str, AttributeValue]


def number_size(text: str) -> int:
    """Bytes a DynamoDB number takes: 1 + ceil(significant digits / 2)."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0]
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).strip("0")  # leading and trailing zeros are trimmed
    return 1 + math.ceil(max(len(digits), 1) / 2)


def _binary_size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return len(base64.b64decode(value))  # raw JSON carries binary as base64 text


def value_size(value: AttributeValue) -> int:
    """The size of one DynamoDB AttributeValue in its wire form (``{"S": ...}``, ``{"M": {...}}``...)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(number_size(n) for n in inner)
    if kind == "BS":
        return sum(_binary_size(b) for b in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: RawItem) -> int:
    """Bytes DynamoDB charges for one item: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def read_units(total_bytes: int, *, consistent: bool) -> float:
    """RCU of one read request that returns ``total_bytes`` (already summed, as Query does)."""
    units = max(1, math.ceil(total_bytes / READ_UNIT))
    return float(units) if consistent else units / 2


def query_units(items: Iterable[RawItem], *, consistent: bool) -> float:
    """RCU of one Query page: the sizes of its items are summed, then rounded up to 4 KB."""
    return read_units(sum(item_size(i) for i in items), consistent=consistent)


def write_units(before_bytes: int, after_bytes: int = 0, *, transactional: bool = False) -> int:
    """WCU of one Put/Update/Delete: the larger image rounded up to 1 KB; doubled in a transaction."""
    units = max(1, math.ceil(max(before_bytes, after_bytes) / WRITE_UNIT))
    return 2 * units if transactional else units
