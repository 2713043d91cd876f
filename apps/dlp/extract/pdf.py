"""PDF text with pypdf, page by page, from memory."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader

from .base import ENCRYPTED, Budget, NotScanned

# pypdf logs every repair it makes on a damaged file; those are not our errors to report.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def extract_pdf(path: str, data: bytes, budget: Budget) -> None:
    """Each page's text. A PDF that needs a password is not scanned ("encrypted").

    A PDF encrypted with an empty user password (restrictions only) opens for any reader, so
    it is read; a real password is never guessed.
    """
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotScanned(ENCRYPTED)
        pages = reader.pages
        for number, page in enumerate(pages, start=1):
            budget.add(f"{path}:page {number}", (page.extract_text() or "").strip())
    except NotScanned:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; all mean "damaged"
        raise NotScanned("unreadable: damaged PDF") from exc
