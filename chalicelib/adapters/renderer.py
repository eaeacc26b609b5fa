"""Jinja2 rendering of pages and emails, autoescaped everywhere, with gettext catalogues per language.

Templates live in the project's top-level ``templates/``. ``vendor/templates`` links to it, and Chalice
packages ``vendor/`` with the dependencies: with ``automatic_layer`` that is the layer, whose
site-packages directory is on ``sys.path`` in Lambda. So the loader looks next to the project first,
then in a ``templates`` directory at the root of any ``sys.path`` entry.
"""

from __future__ import annotations

import gettext
import sys
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from chalicelib.domain import naming
from chalicelib.domain.charts import Bar, LikertRow, TrendPoint, bars_svg, likert_svg, nps_svg, trend_svg

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates"
LOCALES = ROOT / "chalicelib" / "locale"


def long_date(value: datetime | None, lang: str) -> str:
    return naming.long_date(value, lang)


def css_string(value: object) -> Markup:
    """A CSS string literal (for ``content:`` in a ``<style>``): every character that could end the string,
    the rule or the element is a CSS hex escape, so the result is safe unescaped."""
    out = []
    for char in str(value):
        if char.isalnum() or char in " .,:;-–—·()/":
            out.append(char)
        else:
            out.append(f"\\{ord(char):x} ")
    literal = '"' + "".join(out) + '"'
    return Markup(literal)  # noqa: S704 - built from escaped characters only  # nosec B704


def likert_chart(
    rows: list[tuple[str, dict[str, int]]],
    *,
    labels: dict[str, str],
    title: str,
    chart_id: str,
    show_mean: bool = False,
) -> Markup:
    """A diverging stacked bar chart; its markup is built from escaped strings (see domain.charts)."""
    svg = likert_svg(
        [LikertRow(label, dist) for label, dist in rows],
        title=title,
        labels=labels,
        chart_id=chart_id,
        show_mean=show_mean,
    )
    return Markup(svg)  # noqa: S704 - every text in it is escaped  # nosec B704


def bars_chart(bars: list[tuple[str, int, int]], *, title: str, chart_id: str, note: str = "") -> Markup:
    """Horizontal bars with 95 % intervals: (label, count, n) each."""
    svg = bars_svg([Bar(label, count, n) for label, count, n in bars], title=title, chart_id=chart_id, note=note)
    return Markup(svg)  # noqa: S704 - every text in it is escaped  # nosec B704


def nps_chart(
    distribution: dict[str, int], *, score: float | None, labels: dict[str, str], title: str, chart_id: str
) -> Markup:
    """The NPS distribution with its score."""
    svg = nps_svg(distribution, title=title, chart_id=chart_id, labels=labels, score=score)
    return Markup(svg)  # noqa: S704 - every text in it is escaped  # nosec B704


def trend_chart(points: list[dict[str, Any]], *, title: str, chart_id: str, suppressed_word: str) -> Markup:
    """The programme's trend: one row per wave (``label``, ``n``, ``agree_pct``, ``ci95``), oldest first."""
    rows = [TrendPoint(p["label"], int(p["n"]), p.get("agree_pct"), p.get("ci95")) for p in points]
    svg = trend_svg(rows, title=title, chart_id=chart_id, suppressed_word=suppressed_word)
    return Markup(svg)  # noqa: S704 - every text in it is escaped  # nosec B704


@lru_cache(maxsize=1)
def template_dirs() -> tuple[str, ...]:
    found = [TEMPLATES] + [Path(p) / "templates" for p in sys.path if p and (Path(p) / "templates" / "pages").is_dir()]
    return tuple(dict.fromkeys(str(d) for d in found if d.is_dir()))


@lru_cache(maxsize=8)
def environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(template_dirs())),
        # On for every HTML template (and by default); off only for plain-text email parts, where
        # entity-escaping would garble names such as O'Brien and nothing is interpreted as markup.
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml"), disabled_extensions=("txt",), default=True, default_for_string=True
        ),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    translations = gettext.translation("messages", localedir=str(LOCALES), languages=[lang], fallback=True)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = lang
    env.globals["likert_chart"] = likert_chart
    env.globals["bars_chart"] = bars_chart
    env.globals["nps_chart"] = nps_chart
    env.globals["trend_chart"] = trend_chart
    env.filters["long_date"] = lambda value: long_date(value, lang)
    env.filters["css_string"] = css_string
    return env


class JinjaRenderer:
    def render_page(self, name: str, language: str, context: Mapping[str, Any]) -> str:
        return environment(language).get_template(f"pages/{name}.html").render(**context)

    def render_email(self, template: str, language: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        env = environment(language)
        subject = env.get_template(f"emails/{template}.subject.txt").render(**context).strip()
        html = env.get_template(f"emails/{template}.html").render(**context)
        text = env.get_template(f"emails/{template}.txt").render(**context)
        return subject, html, text
