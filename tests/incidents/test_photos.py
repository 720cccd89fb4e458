"""Report photos keep their pixels and lose everything else (architecture §6.3), and never touch the disk raw.

Every test looks at what was stored: the file under PRIVATE_MEDIA_ROOT, its bytes, and what Pillow reads
back from it.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import uuid
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms, PngImagePlugin
from rest_framework.test import APIClient

from incidents import photos, services
from incidents.errors import DomainError
from incidents.models import Report
from tests.factories import CARACAS, ReportFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MAKE = "AcmeSpyCam"
SECRET = "meet at the bakery on Calle 7"
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    b'exif:GPSLatitude="10,28.836N" exif:GPSLongitude="66,54.216W" tiff:Make="AcmeSpyCam"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
# JPEG markers that carry metadata: APP1 (EXIF, XMP) to APP15 (APP2 is ICC, APP13 Photoshop/IPTC) and COM.
METADATA_MARKERS = {0xE0 + n for n in range(1, 16)} | {0xFE}


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def private_root(settings, tmp_path) -> Path:
    root = tmp_path / "private"
    settings.PRIVATE_MEDIA_ROOT = root
    return root


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


# --- building test pictures ---------------------------------------------------------------------------


def two_colours(size: tuple[int, int] = (400, 200), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: a rotation shows where the halves end up."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image.convert(mode)


def camera_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = "Z-9000"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2025:05:01 07:30:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (10.0, 28.0, 50.16)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (66.0, 54.0, 12.96)
    return exif


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def encode(image: Image.Image, format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def camera_jpeg() -> bytes:
    """A phone's photo: GPS, make, model, time, orientation 6, XMP, an ICC profile and a comment."""
    return encode(
        two_colours(),
        "JPEG",
        exif=camera_exif().tobytes(),
        xmp=XMP,
        icc_profile=srgb_profile(),
        comment=SECRET.encode(),
        quality=95,
    )


def noise_jpeg(edge: int) -> bytes:
    """A JPEG of random pixels (which do not compress): about 1.2 bytes per pixel."""
    pixels = random.Random(edge).randbytes(edge * edge * 3)
    return encode(Image.frombytes("RGB", (edge, edge), pixels), "JPEG", quality=95)


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes of PNG whose header claims width×height pixels: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's segments before its image data."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, offset = [], 2
    while offset < len(data):
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: compressed pixels follow
            break
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


def close_to(actual, expected, tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --- sending ------------------------------------------------------------------------------------------


def form(**overrides) -> dict:
    """A report as multipart form fields: `location` is a JSON string."""
    fields = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": json.dumps({"type": "Point", "coordinates": list(CARACAS)}),
        "device": "phone-1",
    }
    fields.update(overrides)
    return fields


def post_photo(api: APIClient, data: bytes, *, name: str = "IMG_0001.jpg", content_type="image/jpeg", **fields):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return api.post("/api/v1/reports", {**form(**fields), "photo": upload}, format="multipart")


def stored_photo(report: Report) -> bytes:
    with report.photo.open("rb") as file:
        return file.read()


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}
    assert body["error"] == code
    assert "photo" in body["fields"] and body["detail"]
    return body


def assert_bare_jpeg(data: bytes) -> Image.Image:
    """A JPEG with no metadata segment of any kind, that Pillow reads back with nothing but its pixels."""
    assert not METADATA_MARKERS & set(jpeg_markers(data))
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert len(image.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment", "photoshop", "adobe"} & set(image.info)
    for needle in (b"Exif", b"GPS", MAKE.encode(), b"Z-9000", b"2025:05:01", b"xmp", b"http://ns.adobe.com"):
        assert needle not in data, needle
    for needle in (b"ICC_PROFILE", b"Photoshop", SECRET.encode()):
        assert needle not in data, needle
    return image


# --- what is stored -----------------------------------------------------------------------------------


def test_a_jpeg_carrying_gps_exif_is_stored_with_no_exif_and_no_gps(api, private_root):
    original = camera_jpeg()
    sent = Image.open(io.BytesIO(original))
    assert sent.getexif()[ExifTags.Base.Make] == MAKE  # the test sends what it claims to send
    assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == (10.0, 28.0, 50.16)
    assert {"exif", "icc_profile", "xmp", "comment"} <= set(sent.info)

    response = post_photo(api, original)

    assert response.status_code == 201, response.content
    report = Report.objects.get(pk=response.json()["id"])
    data = stored_photo(report)
    image = assert_bare_jpeg(data)
    # Orientation 6 was applied to the pixels: the 400×200 picture stands 200×400, its left (red) half on top.
    assert image.size == (200, 400)
    assert close_to(image.getpixel((100, 50)), RED)
    assert close_to(image.getpixel((100, 350)), BLUE)
    assert stored_files(private_root) == [Path(report.photo.path)]


def test_the_stored_photo_is_private_and_named_by_a_random_uuid(api, private_root, settings):
    response = post_photo(api, camera_jpeg(), name="Caracas_Calle7_Maria.jpg")

    assert response.status_code == 201
    assert set(response.json()) == {"id", "client_id", "state", "status_url"}
    report = Report.objects.get()
    assert re.fullmatch(r"photos/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", report.photo.name), report.photo.name
    path = Path(report.photo.path)
    assert path.is_relative_to(private_root)
    assert not path.is_relative_to(Path(settings.MEDIA_ROOT))
    assert path.stat().st_mode & 0o777 == 0o600
    assert not report.photo_approved


def test_a_png_loses_its_text_chunks_and_its_transparency_becomes_white(api, private_root):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    info.add_text("Author", "Maria P.", zip=True)
    info.add_itxt("Description", SECRET + " (itxt)", lang="es", tkey="Descripción")
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste((*RED, 255), (0, 0, 150, 200))
    original = encode(image, "PNG", pnginfo=info, exif=camera_exif(orientation=1).tobytes())
    assert SECRET.encode() in original and b"Maria P." not in original  # the zTXt chunk is compressed
    assert Image.open(io.BytesIO(original)).text["Author"] == "Maria P."

    response = post_photo(api, original, name="screenshot.png", content_type="image/png")

    assert response.status_code == 201, response.content
    data = stored_photo(Report.objects.get())
    stored = assert_bare_jpeg(data)
    assert b"Maria" not in data and b"Description" not in data
    assert stored.size == (300, 200)
    assert close_to(stored.getpixel((50, 100)), RED)
    assert close_to(stored.getpixel((250, 100)), WHITE)


def _webp() -> bytes:
    return encode(two_colours(), "WEBP", exif=camera_exif().tobytes(), xmp=XMP, icc_profile=srgb_profile())


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (120, 80), RED).convert("P"), Image.new("RGB", (120, 80), BLUE).convert("P")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], comment=SECRET.encode(), loop=0)


def _sixteen_bit_png() -> bytes:
    return encode(Image.new("I;16", (64, 64), 65535), "PNG")


def _cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", comment=SECRET.encode())


def _palette_png_with_transparency() -> bytes:
    image = Image.new("P", (64, 64), 0)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    return encode(image, "PNG", transparency=0)


@pytest.mark.parametrize(
    ("make", "content_type", "size", "colour"),
    [
        # WebP with EXIF orientation 6, GPS, XMP and ICC: upright and bare, like the JPEG.
        (_webp, "image/webp", (200, 400), RED),
        # An animated GIF with a comment: its first frame, red.
        (_animated_gif, "image/gif", (120, 80), RED),
        (_sixteen_bit_png, "image/png", (64, 64), WHITE),
        (_cmyk_jpeg, "image/jpeg", (64, 64), RED),
        (_palette_png_with_transparency, "image/png", (64, 64), WHITE),
        (lambda: encode(two_colours(mode="L"), "TIFF"), "image/tiff", (400, 200), None),
        (lambda: encode(Image.new("1", (50, 50), 1), "BMP"), "image/bmp", (50, 50), WHITE),
    ],
    ids=["webp", "animated-gif", "16-bit-png", "cmyk-jpeg", "palette-transparency", "grey-tiff", "1-bit-bmp"],
)
def test_other_formats_are_stored_as_bare_rgb_jpegs(api, private_root, make, content_type, size, colour):
    response = post_photo(api, make(), name="upload", content_type=content_type)

    assert response.status_code == 201, response.content
    stored = assert_bare_jpeg(stored_photo(Report.objects.get()))
    assert stored.size == size
    if colour is not None:
        assert close_to(stored.getpixel((size[0] // 4, size[1] // 4)), colour)


def test_a_large_photo_is_shrunk_to_the_longest_edge_setting(api, private_root, settings):
    settings.PHOTO_MAX_EDGE_PX = 1000
    response = post_photo(api, encode(two_colours((4000, 1000)), "JPEG"))

    assert response.status_code == 201
    assert Image.open(io.BytesIO(stored_photo(Report.objects.get()))).size == (1000, 250)


def test_a_fresh_process_accepts_its_first_photo():
    # Pillow registers most of its formats only on first use; the first upload a new worker sees counts.
    script = (
        "import sys, django; django.setup(); from incidents.photos import photo_clean; "
        "print(len(photo_clean(sys.stdin.buffer.read()).read()) > 0)"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    for data in (camera_jpeg(), _webp()):
        result = subprocess.run(
            [sys.executable, "-c", script], input=data, capture_output=True, env=environment, cwd=ROOT, timeout=60
        )
        assert result.stdout.strip() == b"True", result.stderr.decode()[-2000:]


# --- what is refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"this is not a picture at all" * 20,
        camera_jpeg()[:600],  # truncated inside the image data
        b"",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",  # Ghostscript never sees uploads
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    ],
    ids=["garbage", "truncated-jpeg", "empty", "eps", "broken-png"],
)
def test_what_is_not_a_readable_picture_is_refused_with_invalid_photo(api, private_root, data):
    response = post_photo(api, data)

    assert_refused(response, 400, "invalid_photo")
    assert Report.objects.count() == 0
    assert stored_files(private_root) == []


def test_a_photo_over_the_byte_limit_is_refused_with_413(api, private_root, settings):
    settings.PHOTO_MAX_BYTES = 50_000
    data = noise_jpeg(300)
    assert len(data) > 50_000

    body = assert_refused(post_photo(api, data), 413, "photo_too_large")

    assert "photos up to 49 KB are accepted" in body["detail"]
    assert Report.objects.count() == 0
    assert stored_files(private_root) == []


def test_a_body_too_large_to_keep_in_memory_is_refused_with_413(api, private_root, settings, tmp_path):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 50_000
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()

    with disk_writes() as writes:
        response = post_photo(api, noise_jpeg(300))

    assert_refused(response, 413, "photo_too_large")
    assert Report.objects.count() == 0
    assert writes == []
    assert list((tmp_path / "upload-tmp").iterdir()) == []


@pytest.mark.parametrize(
    "size",
    [(30_000, 30_000), (10_000, 8_000)],
    ids=["over-pillows-own-limit", "over-our-pixel-limit"],
)
def test_a_decompression_bomb_is_refused_without_being_decoded(api, private_root, size):
    data = png_declaring(*size)
    assert len(data) < 1000

    body = assert_refused(post_photo(api, data, content_type="image/png"), 413, "photo_too_large")

    assert "megapixels" in body["detail"]
    assert Report.objects.count() == 0


def test_a_multipart_report_without_a_photo_is_accepted_and_the_location_is_read(api, private_root):
    response = api.post("/api/v1/reports", form(description="two trucks"), format="multipart")

    assert response.status_code == 201, response.content
    report = Report.objects.get()
    assert not report.photo
    assert (report.point.x, report.point.y) == pytest.approx(CARACAS)
    assert report.description == "two trucks"
    assert stored_files(private_root) == []


def test_a_multipart_report_with_a_location_that_is_not_geojson_is_refused(api, private_root):
    response = api.post("/api/v1/reports", form(location="10.48,-66.90"), format="multipart")

    assert response.status_code == 400
    assert "location" in response.json()["fields"]


def test_a_json_report_cannot_smuggle_a_photo(api, private_root):
    body = {**form(), "location": {"type": "Point", "coordinates": list(CARACAS)}}
    body["photo"] = "data:image/jpeg;base64,/9j/4AAQ"
    response = api.post("/api/v1/reports", json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert "photo" in response.json()["fields"]


# --- never on disk, never twice ----------------------------------------------------------------------

_writes: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _writes is not None:
        path, _mode, flags = args
        # An int is a descriptor already open (os.fdopen): the file it names was seen when it was opened.
        if not isinstance(path, int) and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            _writes.append(os.fsdecode(path))


_audit_installed = False


@contextmanager
def disk_writes():
    """Every file this process opens for writing inside the block (Python's audit hook sees them all,
    tempfile's included). Audit hooks cannot be removed, so one is installed once and switched on here."""
    global _writes, _audit_installed
    if not _audit_installed:
        sys.addaudithook(_audit)
        _audit_installed = True
    _writes = []
    try:
        yield _writes
    finally:
        _writes = None


def test_the_raw_upload_never_lands_on_disk(api, private_root, settings, tmp_path, monkeypatch):
    # Over Django's default 2.5 MB, which its default handlers would spool to a temporary file.
    data = noise_jpeg(1700)
    assert len(data) > 2_621_440
    upload_tmp, python_tmp = tmp_path / "upload-tmp", tmp_path / "python-tmp"
    upload_tmp.mkdir()
    python_tmp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(upload_tmp)
    monkeypatch.setattr("tempfile.tempdir", str(python_tmp))

    with disk_writes() as writes:
        response = post_photo(api, data)

    assert response.status_code == 201, response.content
    report = Report.objects.get()
    # The one file written is the re-encoded photo, in the private folder (bytecode caches aside).
    written = [path for path in writes if "__pycache__" not in path]
    assert written == [report.photo.path]
    assert list(upload_tmp.iterdir()) == [] and list(python_tmp.iterdir()) == []
    assert stored_photo(report) != data


def test_a_duplicate_client_id_with_a_photo_stores_no_second_file(api, private_root):
    client_id = str(uuid.uuid4())
    first = post_photo(api, camera_jpeg(), client_id=client_id)
    second = post_photo(api, encode(two_colours(), "PNG"), client_id=client_id, content_type="image/png")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    report = Report.objects.get()
    assert stored_files(private_root) == [Path(report.photo.path)]


def test_a_photo_is_not_kept_when_a_concurrent_duplicate_wins(private_root, monkeypatch):
    client_id = uuid.uuid4()
    clean = photos.photo_clean

    def clean_while_another_request_saves_the_same_report(upload):
        ReportFactory(client_id=client_id)
        return clean(upload)

    monkeypatch.setattr(services, "photo_clean", clean_while_another_request_saves_the_same_report)
    report, created = services.report_submit(
        client_id=client_id,
        kind="checkpoint",
        point=Point(*CARACAS, srid=4326),
        photo=SimpleUploadedFile("a.jpg", camera_jpeg()),
    )

    assert created is False and not report.photo
    assert stored_files(private_root) == []


def test_the_service_refuses_a_bad_photo_before_saving_anything(private_root):
    with pytest.raises(DomainError) as refused:
        services.report_submit(
            client_id=uuid.uuid4(),
            kind="checkpoint",
            point=Point(*CARACAS, srid=4326),
            photo=SimpleUploadedFile("a.jpg", b"GIF89a nonsense"),
        )

    assert (refused.value.code, refused.value.field, refused.value.status_code) == ("invalid_photo", "photo", 400)
    assert Report.objects.count() == 0


@pytest.mark.parametrize(("accel", "file_mode", "dir_mode"), [("", 0o600, 0o700), ("/_private", 0o640, 0o750)])
def test_photos_are_readable_by_the_app_alone_or_also_by_nginx_s_group_behind_x_accel(
    settings, private_root, accel, file_mode, dir_mode
):
    from django.core.files.base import ContentFile

    from incidents.storage import private_storage

    settings.PRIVATE_MEDIA_X_ACCEL_PREFIX = accel
    name = private_storage().save("photos/2026/x.jpg", ContentFile(b"\xff\xd8\xff"))
    stored = private_root / name
    assert stored.stat().st_mode & 0o777 == file_mode
    assert stored.parent.stat().st_mode & 0o777 == dir_mode
