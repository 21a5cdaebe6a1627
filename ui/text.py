"""Showing catalog text in Markdown safely: it is data, so it must not format, link or embed images."""

from __future__ import annotations

import re

# ":" as well: Streamlit reads ":red[…]" as colour and ":smile:" as an emoji.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$:])")


def md_escape(text: str) -> str:
    """``text`` with every Markdown-active character escaped (catalogs contain ``**…**`` and brackets).

    No link, image or HTML survives; a bare URL still becomes a link (GitHub-flavoured autolink) that shows its target.
    """
    return _MD_SPECIAL.sub(r"\\\1", text)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link (repaired catalog URLs are; anything else is not linked)."""
    if url and re.match(r"^https?://[^\s()<>\[\]]+$", url.strip()):
        return url.strip()
    return None
