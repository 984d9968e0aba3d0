"""The name an attached file is shown and downloaded under.

It is only ever shown: files are stored under the SHA-256 of their bytes. Still, a name
comes from the user, so it loses folders, control and direction-changing characters (no
`invoice‮fdp.exe` that reads as `invoiceexe.pdf`), and gets the extension its bytes call for.
"""

from __future__ import annotations

import unicodedata

from attachments.kinds import EXTENSIONS, Kind

MAX_STEM = 120  # characters before the extension
_KNOWN = frozenset().union(*EXTENSIONS.values())


def clean_filename(name: str, kind: Kind) -> str:
    """`name` fit to show: "../../etc/passwd" -> "passwd.pdf", "scan.pdf" (a PNG) -> "scan.png".

    Args:
        name: The name the browser sent (any text, possibly empty or a path).
        kind: What the bytes are (`attachments.kinds.check`).
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # C*: control, format (bidi overrides, zero-width), surrogates, private use, unassigned
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if extension.lower() in EXTENSIONS[kind.content_type]:
        extension = extension.lower()
    else:
        if extension.lower() not in _KNOWN:  # "report.final": the dot is part of the name
            stem = name
        extension = kind.extension
    stem = stem[:MAX_STEM].strip(" .") or ("image" if kind.image else "document")
    return f"{stem}.{extension}"
