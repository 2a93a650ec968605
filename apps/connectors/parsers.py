"""Request body parsers for OpenAPI imports: raw YAML, and gzip bodies.

Real API descriptions are large (GitHub's is 13 MB of JSON), more than the
API's body limit. Clients may send them compressed with
`Content-Encoding: gzip`; the compressed size is what the body limit sees,
and decompression stops at `FASTN_OPENAPI_MAX_BYTES` so a small bomb cannot
become gigabytes.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from apps.core.errors import PayloadTooLarge

_CHUNK = 64 * 1024


def _read(stream, parser_context) -> bytes:
    request = (parser_context or {}).get("request")
    encoding = (request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else "").strip().lower()
    raw = stream.read() if stream is not None else b""
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ParseError(f"Content-Encoding {encoding!r} is not supported; use gzip or none.")
    limit = settings.FASTN_OPENAPI_MAX_BYTES
    # wbits 47 reads gzip and zlib headers alike.
    decompressor = zlib.decompressobj(47)
    out = bytearray()
    try:
        data = raw
        while data:
            out += decompressor.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise PayloadTooLarge(f"The decompressed document is larger than {limit} bytes.")
            data = decompressor.unconsumed_tail
        out += decompressor.flush()
    except zlib.error as exc:
        raise ParseError(f"The body is not valid {encoding} data: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"The decompressed document is larger than {limit} bytes.")
    return bytes(out)


class JSONDocumentParser(BaseParser):
    """JSON, possibly gzip-compressed."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = _read(stream, parser_context)
        try:
            return json.loads(raw.decode("utf-8-sig")) if raw else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from None


class YAMLDocumentParser(BaseParser):
    """A YAML (or JSON) document, kept as text: the OpenAPI importer parses it
    and reports problems in its own words."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = _read(stream, parser_context)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParseError("The document is not UTF-8 text.") from None


class XYAMLDocumentParser(YAMLDocumentParser):
    media_type = "application/x-yaml"


class TextYAMLDocumentParser(YAMLDocumentParser):
    media_type = "text/yaml"


class TextXYAMLDocumentParser(YAMLDocumentParser):
    media_type = "text/x-yaml"


OPENAPI_PARSERS = [
    JSONDocumentParser,
    YAMLDocumentParser,
    XYAMLDocumentParser,
    TextYAMLDocumentParser,
    TextXYAMLDocumentParser,
]
