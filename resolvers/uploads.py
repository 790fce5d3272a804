"""What an uploaded file is, decided from its bytes: type, name, and for images clean pixels.

* The content type comes from the magic bytes, never from the client's header or
  the file's name; only the types of ``RIGBOOK_UPLOAD_TYPES`` are kept, and a name
  whose extension says another type than the bytes (a PNG called ``.pdf``) is refused.
* Images are decoded by Pillow under a pixel limit checked from the header before
  any pixel is decoded (a decompression bomb is refused without being inflated),
  turned upright by their EXIF orientation, and re-encoded without any metadata
  (EXIF, GPS, XMP, comments): the bytes stored and served are the re-encoded ones.
* Thumbnails fit inside a square of each size, as WebP.

Decoding is CPU work: ``process_image`` and ``make_thumbnails`` are plain functions
that callers run in a worker thread (``in_image_thread`` with the process's limiter,
``Services.image_limiter``), a few at a time.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
from PIL import Image, ImageOps, UnidentifiedImageError

from resolvers.errors import InvalidInput

THUMBNAIL_SIZES = (128, 512)
MAX_FILENAME_LENGTH = 150
# The fewest bytes that tell every known type apart.
SNIFF_BYTES = 16


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str
    extensions: tuple[str, ...]
    pillow_format: str | None  # None: not an image


FILE_TYPES = {
    "image/jpeg": FileType("image/jpeg", "a JPEG image", (".jpg", ".jpeg", ".jpe"), "JPEG"),
    "image/png": FileType("image/png", "a PNG image", (".png",), "PNG"),
    "image/webp": FileType("image/webp", "a WebP image", (".webp",), "WEBP"),
    "application/pdf": FileType("application/pdf", "a PDF document", (".pdf",), None),
}


def sniff(head: bytes) -> FileType | None:
    """The type the first bytes of a file announce, among the known ones."""
    if head.startswith(b"\xff\xd8\xff"):
        return FILE_TYPES["image/jpeg"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FILE_TYPES["image/png"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FILE_TYPES["image/webp"]
    if head.startswith(b"%PDF-"):
        return FILE_TYPES["application/pdf"]
    return None


def allowed_type(data: bytes, allowed: list[str]) -> FileType:
    """The file's type from its bytes, refused unless it is one of ``allowed``."""
    if not data:
        raise InvalidInput({"file": "The file is empty."}, "The file is empty.")
    found = sniff(data[:SNIFF_BYTES])
    if found is None or found.content_type not in allowed:
        names = ", ".join(FILE_TYPES[name].label.split(" ", 1)[1] for name in allowed if name in FILE_TYPES)
        message = f"This kind of file is not accepted; accepted: {names}."
        raise InvalidInput({"file": message}, message)
    return found


_UNSAFE = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|;]+')
_SPACES = re.compile(r"\s+")


def clean_filename(given: str | None, file_type: FileType) -> str:
    """A name safe to show and to put in ``Content-Disposition``, with the extension of its type.

    Only the last path part is kept; control characters, quotes and path or shell
    punctuation go; the result is at most ``MAX_FILENAME_LENGTH`` characters. A name
    without an extension gets the type's; one with another type's extension is refused.
    """
    name = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = _SPACES.sub(" ", _UNSAFE.sub("_", name)).strip(" ._")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    extension = extension.lower()
    if extension and f".{extension}" not in file_type.extensions:
        if extension.isalnum() and len(extension) <= 5:
            message = f"The file is {file_type.label}, but its name ends in .{extension}."
            raise InvalidInput({"filename": message}, message)
        stem, extension = name, ""
    suffix = f".{extension}" if extension else file_type.extensions[0]
    stem = stem.strip(" ._")[: MAX_FILENAME_LENGTH - len(suffix)] or "file"
    return stem + suffix


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    width: int
    height: int


class ImageRefused(ValueError):
    """The bytes are not an image Pillow may decode here (broken, too large, another format)."""


def _open_checked(data: bytes, pillow_format: str, max_pixels: int) -> Image.Image:
    """Open the header only and check the format and the pixel count before decoding."""
    with warnings.catch_warnings():
        # Pillow's own bomb check warns first and raises only at twice its limit: refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[pillow_format])
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as error:
            raise ImageRefused(f"not a readable image: {type(error).__name__}") from error
        except (OSError, ValueError, SyntaxError) as error:
            raise ImageRefused(f"not a readable image: {type(error).__name__}") from error
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise ImageRefused(f"{width}×{height} pixels is more than the {max_pixels} allowed")
    return image


def _decoded(data: bytes, pillow_format: str, max_pixels: int) -> Image.Image:
    image = _open_checked(data, pillow_format, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)  # an animation keeps its first frame only
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise ImageRefused(f"the image does not decode: {type(error).__name__}") from error
    finally:
        image.close()
    return upright


def process_image(data: bytes, file_type: FileType, max_pixels: int) -> CleanImage:
    """The image re-encoded in its own format, upright, without metadata (run it in a thread)."""
    pillow_format = file_type.pillow_format
    if pillow_format is None:
        raise TypeError(f"{file_type.content_type} is not an image")
    image = _decoded(data, pillow_format, max_pixels)
    out = io.BytesIO()
    if pillow_format == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True)
    elif pillow_format == "PNG":
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=False)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=90)
    return CleanImage(out.getvalue(), image.width, image.height)


def make_thumbnails(data: bytes, file_type: FileType, max_pixels: int) -> dict[int, bytes]:
    """WebP thumbnails of a stored image, each fitting a square of one of ``THUMBNAIL_SIZES``."""
    pillow_format = file_type.pillow_format
    if pillow_format is None:
        raise TypeError(f"{file_type.content_type} is not an image")
    image = _decoded(data, pillow_format, max_pixels)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    thumbnails = {}
    for size in THUMBNAIL_SIZES:
        copy = image.copy()
        copy.thumbnail((size, size))
        out = io.BytesIO()
        copy.save(out, "WEBP", quality=80)
        thumbnails[size] = out.getvalue()
    return thumbnails


T = TypeVar("T")


async def in_image_thread(
    limiter: anyio.CapacityLimiter, function: Callable[..., T], *arguments: object
) -> T:
    """Run image work in a worker thread, as many at once as the process's limiter lets."""
    return await anyio.to_thread.run_sync(function, *arguments, limiter=limiter)
