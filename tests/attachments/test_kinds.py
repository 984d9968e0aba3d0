"""What a file is comes from its bytes: names and claimed types are not believed."""

from __future__ import annotations

import pytest

from attachments.kinds import DEFAULT_TYPES, AttachmentError, check, describe, human_size, sniff
from attachments.names import clean_filename
from tests.attachments._files import HTML, PDF, image

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (image("PNG"), "image/png"),
        (image("JPEG"), "image/jpeg"),
        (image("WEBP"), "image/webp"),
        (image("GIF"), "image/gif"),
        (PDF, "application/pdf"),
    ],
)
def test_each_kind_is_known_by_its_first_bytes(data: bytes, content_type: str) -> None:
    kind = check(data, DEFAULT_TYPES, 10 * MiB)
    assert kind.content_type == content_type


@pytest.mark.parametrize(
    "data",
    [HTML, b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", b"MZ\x90\x00 an .exe"],
)
def test_html_svg_and_programs_are_refused_whatever_they_are_called(data: bytes) -> None:
    with pytest.raises(AttachmentError) as refused:
        check(data, DEFAULT_TYPES, 10 * MiB)
    assert refused.value.code == "unsupported_type"
    assert refused.value.message == (
        "only PNG, JPEG, WebP, GIF or PDF files can be attached, and this file is not one of them"
    )


def test_a_type_left_out_of_the_settings_is_refused() -> None:
    with pytest.raises(AttachmentError) as refused:
        check(PDF, ["image/png", "image/jpeg"], 10 * MiB)
    assert refused.value.code == "unsupported_type"
    assert "only PNG or JPEG files" in refused.value.message


def test_empty_and_too_large_files_are_refused_saying_the_limit() -> None:
    with pytest.raises(AttachmentError) as empty:
        check(b"", DEFAULT_TYPES, 10 * MiB)
    assert empty.value.code == "empty_file"
    big = PDF + b"0" * (3 * MiB - len(PDF) + 200 * 1024)
    with pytest.raises(AttachmentError) as large:
        check(big, DEFAULT_TYPES, 2 * MiB)
    assert large.value.code == "file_too_large"
    assert large.value.message == "the file is 3.2 MB; files of at most 2 MB can be attached"
    assert check(PDF, DEFAULT_TYPES, len(PDF)).content_type == "application/pdf"  # at the limit


def test_sizes_read_as_people_read_them() -> None:
    assert human_size(900) == "900 bytes"
    assert human_size(1536) == "1.5 KB"
    assert human_size(10 * MiB) == "10 MB"
    assert describe(["application/pdf"]) == "PDF"


@pytest.mark.parametrize(
    ("name", "data", "shown"),
    [
        ("scan.pdf", image("PNG"), "scan.png"),  # a PNG called .pdf is a PNG
        ("photo.JPEG", image("JPEG"), "photo.jpeg"),
        ("../../etc/passwd", PDF, "passwd.pdf"),
        ("C:\\Users\\aiko\\請求書.pdf", PDF, "請求書.pdf"),
        ("invoice\u202efdp.exe", PDF, "invoicefdp.exe.pdf"),  # no right-to-left trick
        ("report.final", PDF, "report.final.pdf"),
        ("  .hidden  ", image("GIF"), "hidden.gif"),
        ("", image("WEBP"), "image.webp"),
        ("x" * 300 + ".pdf", PDF, "x" * 120 + ".pdf"),
        ("破損した商品の写真.jpg", image("JPEG"), "破損した商品の写真.jpg"),
    ],
)
def test_names_lose_folders_and_tricks_and_get_the_extension_of_their_bytes(
    name: str, data: bytes, shown: str
) -> None:
    assert clean_filename(name, sniff(data) or pytest.fail("not sniffed")) == shown


def test_with_no_kinds_allowed_attaching_is_off_and_says_so() -> None:
    with pytest.raises(AttachmentError) as refused:
        check(image("PNG"), [], 10 * MiB)
    assert (refused.value.code, refused.value.message) == (
        "unsupported_type",
        "attaching files is turned off here",
    )
