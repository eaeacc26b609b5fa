"""QR codes drawn on the server as inline SVG (segno: small, pure Python, maintained), at error correction
level Q: a quarter of the code can be smudged, creased or covered by a badge clip and it still reads."""

from __future__ import annotations

import segno
from markupsafe import Markup, escape


def qr_svg(data: str, *, label: str, scale: int = 4, border: int = 4) -> Markup:
    """An ``<svg>`` element of the QR code of ``data``, sized in CSS (its viewBox kept), named for screen
    readers by ``label``."""
    code = segno.make(data, error="q", micro=False, boost_error=True)
    svg = code.svg_inline(scale=scale, border=border, omitsize=True, svgclass="qr", lineclass=None)
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))  # noqa: S704  # nosec B704
