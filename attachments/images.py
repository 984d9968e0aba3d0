"""Proving an image is one, and its thumbnail (Pillow).

A file whose first bytes say PNG is decoded as a PNG: a damaged or disguised file fails
here and is refused. Thumbnails are WebP, at most `THUMBNAIL_SIDE` pixels on their longer
side, upright (a phone's photo carries its rotation in EXIF; the thumbnail applies it).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from attachments.kinds import AttachmentError, Kind

THUMBNAIL_SIDE = 320
#: Larger images are refused before they are decoded (a small file can unpack to
#: gigabytes); 50 megapixels is more than a phone's camera takes.
MAX_PIXELS = 50_000_000
_PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}


@dataclass(frozen=True)
class Picture:
    """A decoded image: its size as shown (upright) and its thumbnail."""

    width: int
    height: int
    thumbnail: bytes  # WebP


def picture(data: bytes, kind: Kind) -> Picture:
    """Decode `data` as `kind` and make its thumbnail (CPU work: run it in a thread).

    Raises:
        AttachmentError: `image_too_large` beyond `MAX_PIXELS`, `damaged_file` when the
            bytes do not decode as the image their signature announced.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind.content_type]])
            if image.width * image.height > MAX_PIXELS:
                raise AttachmentError(
                    "image_too_large",
                    f"the image is {image.width}×{image.height} pixels; images of at most "
                    f"{MAX_PIXELS // 1_000_000} megapixels can be attached",
                )
            return _thumbnail(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise AttachmentError(
            "image_too_large",
            f"the image has too many pixels; images of at most {MAX_PIXELS // 1_000_000} "
            "megapixels can be attached",
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise AttachmentError(
            "damaged_file",
            f"the file starts like a {kind.label} image but cannot be read as one "
            "(it may be damaged): choose another",
        ) from None


def _thumbnail(image: Image.Image) -> Picture:
    width, height = _upright_size(image)
    if image.format == "JPEG":
        image.draft("RGB", (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))  # decode at a smaller scale
    upright = ImageOps.exif_transpose(image)  # decodes: a damaged file fails here
    upright.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    upright = upright.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    upright.save(out, "WEBP", quality=80, method=4)
    return Picture(width, height, out.getvalue())


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The full image's size once turned as its EXIF orientation says (5-8: a quarter turn)."""
    orientation = image.getexif().get(0x0112, 1)
    return (image.height, image.width) if orientation in (5, 6, 7, 8) else image.size
