"""Documents: HTML from the part's Jinja2 templates, PDF from that HTML through WeasyPrint. Never a
hand-written PDF: the layout (A4, margins, running header and footer with page numbers, tables whose
header repeats and whose rows do not split) is CSS in templates/report.css."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from facmon.errors import InputError

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("pdf", "html")


def facmon_version() -> str:
    try:
        return version("facmon")
    except PackageNotFoundError:  # a checkout run without installing
        return "unknown"


@dataclass(frozen=True)
class Masthead:
    """What every page says: the site, the report's title and period, when and by which facmon it was made."""

    site: str
    title: str
    period: str
    generated_at: datetime
    lang: str

    @property
    def facmon(self) -> str:
        return facmon_version()


def _css_string(value: object) -> Markup:
    """Text for a CSS string literal ("..."): backslashes, quotes and line breaks escaped."""
    # A Markup: inside <style> HTML escapes are not decoded; "<" is escaped the CSS way so no "</style>" ends it.
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    escaped = "".join(" " if ord(ch) < 0x20 else ch for ch in escaped)  # CSS newlines (\n, \r, \f) would end the string
    return Markup(escaped)


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing figure is an error, never a blank cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cssstring"] = _css_string
    env.filters["b64"] = _b64
    return env


def render_html(template: str, masthead: Masthead, context: dict[str, Any]) -> str:
    """The document as HTML (its stylesheet inlined, so the file stands alone)."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return environment().get_template(template).render(masthead=masthead, css=css, **context)


def _quiet_pdf_libraries() -> None:
    """WeasyPrint logs each layout step and fontTools each font subset at INFO, and WeasyPrint warns on every
    PDF that Debian's HarfBuzz lacks the subsetter (fontTools does the job): noise in a command's or a
    service's log, kept at WARNING without that one warning."""
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    weasyprint = logging.getLogger("weasyprint")
    if not any(isinstance(f, _NoSubsetterWarning) for f in weasyprint.filters):
        weasyprint.addFilter(_NoSubsetterWarning())


class _NoSubsetterWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "HarfBuzz-Subset" not in record.getMessage()


def html_to_pdf(html: str) -> bytes:
    """The HTML as an A4 PDF with its fonts embedded (WeasyPrint; Debian's fonts-noto-cjk for Chinese)."""
    _quiet_pdf_libraries()  # before the import: it parses WeasyPrint's own stylesheets
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf


def write_document(template: str, masthead: Masthead, context: dict[str, Any], out: Path, fmt: str) -> Path:
    """Render ``template`` to ``out`` as ``fmt`` (pdf or html)."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: a document is pdf or html")
    html = render_html(template, masthead, context)
    if fmt == "html":
        out.write_text(html, encoding="utf-8")
    else:
        out.write_bytes(html_to_pdf(html))
    return out
