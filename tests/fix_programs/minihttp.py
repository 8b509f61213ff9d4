"""What the async programs share: the API's base URL and a small asyncio JSON GET.

Stdlib only (asyncio streams, HTTP/1.1, one connection per request), so the programs run
without an async HTTP library installed. Not a program itself: nothing here is fixed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

URL_VARIABLE = "FIX_PROGRAMS_URL"


def base_url() -> str:
    """The API's base URL: the first command-line argument, else $FIX_PROGRAMS_URL."""
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(URL_VARIABLE, "")
    if not url:
        sys.exit(f"usage: {sys.argv[0]} BASE_URL (or set {URL_VARIABLE})")
    return url.rstrip("/")


async def get_json(url: str) -> Any:
    """GET url and decode its JSON body; raises on a status other than 200."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Accept: application/json\r\nConnection: close\r\n\r\n".encode("ascii"))
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length = -1
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length) if length >= 0 else await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    if status != 200:
        raise RuntimeError(f"GET {url}: HTTP {status}")
    return json.loads(body)
