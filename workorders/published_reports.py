"""Reports published for delivery (`facmon report deliver|follow`), served at ``/r/<token>/<file>``.

No sign-in: the link is the permission. The token is 18 random bytes (``secrets.token_urlsafe``), so a link
cannot be guessed, and one link opens one file. Officers get it in their DingTalk group, whose robot cannot
send files; anyone they forward it to can read that report, as with a mailed attachment. To withdraw a
report, delete its folder under ``FACMON_HOME/reports/published/``.
"""

from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpRequest

from facmon.settings import facmon_home

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24}$")  # secrets.token_urlsafe(18)
_NAME = re.compile(r"^[^/\\\x00]+$")


def published_report(request: HttpRequest, token: str, filename: str) -> FileResponse:
    """The published file ``filename`` of ``token``, or 404 for anything else (no listing, no other path).

    The token and the name must each equal an entry of their folder exactly: nothing is resolved from the
    request's text, so ``..``, links out of the folder and case-folding file systems lead nowhere."""
    if not _TOKEN.match(token) or not _NAME.match(filename) or filename.startswith("."):
        raise Http404("no such report")
    root = facmon_home().absolute() / "reports" / "published"
    try:
        if token not in {entry.name for entry in root.iterdir() if entry.is_dir() and not entry.is_symlink()}:
            raise Http404("no such report")
        folder = root / token
        if filename not in {entry.name for entry in folder.iterdir() if entry.is_file() and not entry.is_symlink()}:
            raise Http404("no such report")
    except OSError:
        raise Http404("no such report") from None
    path = folder / filename
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None:
        raise Http404("no such report")
    response = FileResponse(path.open("rb"), content_type=content_type, filename=filename, as_attachment=path.suffix.lower() == ".xlsx")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the address: never pass it on to a linked site
    if path.suffix.lower() == ".html":
        # an HTML report opens on the work-order service's own origin: sandboxed, it runs no script and reads no cookie
        response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return response
