"""Images are decoded to prove they are images; thumbnails are small, upright WebP."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from attachments import images
from attachments.kinds import KINDS, AttachmentError
from tests.attachments._files import image, rotated_photo


def _decoded(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("GIF", "image/gif")])
def test_a_thumbnail_is_webp_at_most_320_pixels_keeping_the_shape(
    fmt: str, content_type: str
) -> None:
    picture = images.picture(image(fmt, (1600, 900)), KINDS[content_type])
    assert (picture.width, picture.height) == (1600, 900)
    thumbnail = _decoded(picture.thumbnail)
    assert thumbnail.format == "WEBP"
    assert thumbnail.size == (320, 180)


def test_a_phone_photo_turned_in_exif_gets_an_upright_thumbnail() -> None:
    picture = images.picture(rotated_photo(), KINDS["image/jpeg"])
    assert (picture.width, picture.height) == (400, 600)  # as the phone showed it
    thumbnail = _decoded(picture.thumbnail)
    assert thumbnail.size == (213, 320)
    # the red half was on the left; turned clockwise it is on top
    red, green, blue = thumbnail.convert("RGB").getpixel((100, 40))  # type: ignore[misc]
    assert red > 150 and blue < 100


def test_transparency_is_kept_in_the_thumbnail() -> None:
    clear = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    out = io.BytesIO()
    clear.save(out, "PNG")
    thumbnail = _decoded(images.picture(out.getvalue(), KINDS["image/png"]).thumbnail)
    assert thumbnail.mode == "RGBA" and thumbnail.getpixel((5, 5))[3] == 0  # type: ignore[index]


def test_a_file_that_only_starts_like_a_png_is_refused_as_damaged() -> None:
    truncated = image("PNG", (400, 400))[:200]
    with pytest.raises(AttachmentError) as refused:
        images.picture(truncated, KINDS["image/png"])
    assert refused.value.code == "damaged_file"
    assert "cannot be read as one" in refused.value.message


def test_a_png_saying_it_is_a_jpeg_is_not_decoded_as_one() -> None:
    with pytest.raises(AttachmentError) as refused:
        images.picture(image("PNG"), KINDS["image/jpeg"])
    assert refused.value.code == "damaged_file"


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded() -> None:
    huge = image("PNG", (8000, 7000), compress_level=1)  # 56 megapixels
    with pytest.raises(AttachmentError) as refused:
        images.picture(huge, KINDS["image/png"])
    assert refused.value.code == "image_too_large"
    assert "8000×7000" in refused.value.message
