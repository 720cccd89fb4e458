"""Report photos: decoded and re-encoded in memory with no metadata at all (architecture §6.3).

A phone's photo carries where and when it was taken and by which device (EXIF, GPS, XMP, maker notes,
ICC profiles naming the device, PNG text chunks). None of the uploaded bytes are kept: the pixels are
decoded, turned upright, converted to sRGB, shrunk, and encoded as a new JPEG that holds nothing else.
The upload itself stays in memory; `MemoryOnlyUploadHandler` refuses a body too large to keep there
instead of spooling it to a temporary file.
"""

from __future__ import annotations

import io
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from PIL import Image, ImageCms, ImageOps

from incidents.errors import DomainError

# Defaults of the PHOTO_* settings (config/settings/base.py reads them from the environment).
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_EDGE_PX = 2048
DEFAULT_MAX_PIXELS = 40_000_000
JPEG_QUALITY = 82

# Everything Pillow reads, except EPS: Pillow hands EPS to Ghostscript, a whole interpreter in another
# process, which has no business seeing untrusted uploads.
_REFUSED_FORMATS = {"EPS"}


def max_bytes() -> int:
    return getattr(settings, "PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_edge_px() -> int:
    return getattr(settings, "PHOTO_MAX_EDGE_PX", DEFAULT_MAX_EDGE_PX)


def max_pixels() -> int:
    return getattr(settings, "PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{-(-size // 1024)} KB"
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def _too_large(size: int | None = None, *, what: str = "photo") -> DomainError:
    said = f"The {what} is {_megabytes(size)}; " if size is not None else f"The {what} is too large; "
    return DomainError(
        "photo_too_large",
        f"{said}photos up to {_megabytes(max_bytes())} are accepted. Send a smaller one (a screenshot of it will do).",
        field="photo",
        status_code=413,
    )


def _too_many_pixels(size: tuple[int, int] | None = None) -> DomainError:
    limit = max_pixels() // 1_000_000
    said = f"The photo is {size[0]}×{size[1]} pixels; " if size else "The photo has too many pixels; "
    return DomainError(
        "photo_too_large",
        f"{said}photos up to {limit} megapixels are accepted. Send a smaller one (a screenshot of it will do).",
        field="photo",
        status_code=413,
    )


def _unreadable(detail: str = "it is damaged or not a picture") -> DomainError:
    return DomainError(
        "invalid_photo",
        f"The photo could not be read: {detail}. Send a JPEG, PNG or WebP picture, or leave the photo out.",
        field="photo",
    )


class UploadTooLarge(DomainError, RequestDataTooBig):
    """A multipart body too large to keep in memory. Also a RequestDataTooBig, so that a view that does
    not catch it answers 400 through Django's handling of suspicious requests rather than 500."""


class MemoryOnlyUploadHandler(MemoryFileUploadHandler):
    """Keep uploaded files in memory, and refuse a body over FILE_UPLOAD_MAX_MEMORY_SIZE.

    Django's MemoryFileUploadHandler alone lets such a body through with its files silently dropped
    (or written to a temporary file when TemporaryFileUploadHandler follows it, which architecture §6.3
    forbids). This raises before a byte of the body is read.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        super().handle_raw_input(input_data, META, content_length, boundary, encoding)
        if not self.activated:
            error = _too_large(content_length or None, what="upload")
            raise UploadTooLarge(error.code, error.detail, field=error.field, status_code=error.status_code)


def _read(upload: File | bytes) -> bytes:
    limit = max_bytes()
    size: int | None
    if isinstance(upload, (bytes, bytearray, memoryview)):
        data, size = bytes(upload), len(upload)
    else:
        size = getattr(upload, "size", None)
        if isinstance(size, int) and size > limit:
            raise _too_large(size)
        if hasattr(upload, "seek"):
            upload.seek(0)
        data = upload.read(limit + 1)
    if not data:
        raise _unreadable("the file is empty")
    if len(data) > limit:
        raise _too_large(size if isinstance(size, int) and size > limit else None)
    return data


def _fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """`size` shrunk to fit an `edge`×`edge` box, aspect kept; unchanged if it already fits."""
    width, height = size
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(data: bytes) -> Image.Image:
    """The first frame's pixels, upright, with no more pixels in memory than PHOTO_MAX_PIXELS."""
    Image.init()  # until a first decode registers every plugin, Image.OPEN lists only a few formats
    formats = [name for name in Image.OPEN if name not in _REFUSED_FORMATS]
    image = Image.open(io.BytesIO(data), formats=formats)
    # A JPEG can be decoded straight at 1/2, 1/4 or 1/8 scale: a 50-megapixel photo never occupies
    # 150 MB when all we keep is 2048 pixels wide.
    image.draft(None, _fit(image.size, max_edge_px()))
    if image.size[0] * image.size[1] > max_pixels():
        raise _too_many_pixels(image.size)
    image.load()
    try:
        # Orientation is applied to the pixels, because dropping the EXIF drops the tag that said it.
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 -- broken EXIF is common and must not cost the photo; keep it as stored
        return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Three 8-bit sRGB channels: deep samples scaled down, alpha laid on white, an ICC profile applied."""
    profile = image.info.get("icc_profile")
    if image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value * (255 / 65535)).convert("L")
    elif image.mode in ("I", "F"):
        # Pillow types getextrema() for every mode at once; a one-band I or F image gives (min, max) numbers.
        low, high = (float(bound) for bound in image.getextrema())  # type: ignore[arg-type]
        scale = 255 / ((high - low) or 1.0)
        image = image.point(lambda value: value * scale - low * scale).convert("L")
    if "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    if image.mode not in ("RGB", "CMYK", "L"):
        image = image.convert("RGB")
    if profile:
        try:
            srgb = ImageCms.createProfile("sRGB")
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            image = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB") or image
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # an unusable profile: take the values as sRGB, as most viewers would
    return image.convert("RGB")


def photo_clean(upload: File | bytes) -> ContentFile:
    """A new JPEG of the upload's pixels and nothing else, named by a random UUID.

    Accepts whatever Pillow decodes in process (JPEG, PNG, WebP, GIF, AVIF, TIFF, BMP…; the first
    frame of an animation), up to PHOTO_MAX_BYTES and PHOTO_MAX_PIXELS. The result is upright, sRGB,
    at most PHOTO_MAX_EDGE_PX on its longer edge, and carries no EXIF, GPS, XMP, ICC profile, comment
    or text. Raises DomainError `invalid_photo` (400) or `photo_too_large` (413), field "photo".
    """
    data = _read(upload)
    try:
        image = _to_srgb(_decode(data))
        image.thumbnail((max_edge_px(), max_edge_px()), Image.Resampling.LANCZOS)
        # A new image from the bare pixels: nothing of the decoded file's `info` can reach the encoder.
        bare = Image.frombytes("RGB", image.size, image.tobytes())
    except DomainError:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except MemoryError:
        raise
    except Exception as exc:  # Pillow's decoders raise many types on hostile input
        raise _unreadable() from exc
    buffer = io.BytesIO()
    bare.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return ContentFile(buffer.getvalue(), name=f"{uuid.uuid4().hex}.jpg")
