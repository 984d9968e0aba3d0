"""Real files made for the attachment tests: images Pillow writes, a tiny PDF, an HTML page."""

from __future__ import annotations

import io

from PIL import Image

# A one-page PDF as a PDF writer leaves it (header, objects, xref, trailer).
PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200]>> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \ntrailer <</Size 4 /Root 1 0 R>>\nstartxref\n0\n%%EOF\n"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def image(fmt: str, size: tuple[int, int] = (800, 600), **save: object) -> bytes:
    """An image of `size` in `fmt` (PNG, JPEG, WEBP, GIF): a red half and a blue half."""
    picture = Image.new("RGB", size, (200, 30, 30))
    picture.paste((30, 60, 200), (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    picture.save(out, fmt, **save)
    return out.getvalue()


def rotated_photo() -> bytes:
    """A 600×400 JPEG whose EXIF says "turn 90° clockwise" (as a phone held upright saves)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return image("JPEG", (600, 400), exif=exif.tobytes())
