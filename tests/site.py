"""A real web site on 127.0.0.1 for the ingest tests: news pages wrapped in site chrome, a 404, a binary
file. Pages can be changed while it runs (an article updated at the same address)."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHROME = [
    "Accept all cookies to continue reading",
    "Home World Business Sport",
    "Most read: Ten recipes for a quick weeknight dinner",
    "Sign up for our daily briefing newsletter",
    "© 2026 Daily Gazette Media Group. All rights reserved.",
]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


def news_page(title: str, article: str) -> bytes:
    """The article's paragraphs (blank-line separated) in an <article>, amid a news site's chrome."""
    paragraphs = "".join(f"<p>{html.escape(p.strip())}</p>" for p in article.split("\n\n") if p.strip())
    cookie, nav, most_read, newsletter, footer = (html.escape(text) for text in CHROME)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)} | Gazette</title>"
        f"</head><body><div class='cookie-banner'><p>{cookie}</p></div><header><nav>{nav}</nav></header>"
        f"<main><article><h1>{html.escape(title)}</h1>{paragraphs}</article>"
        f"<aside><h2>Most read</h2><p>{most_read}</p></aside><div class='newsletter'>{newsletter}</div>"
        f"</main><footer><p>{footer}</p></footer></body></html>"
    ).encode()


class Site:
    """path -> (status, content type, body); anything else is a 404."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, bytes]] = {
            "/image.png": (200, "application/octet-stream", PNG),
            "/nav-only": (200, "text/html; charset=utf-8", news_page("Gazette", "")),
        }
        self.base = ""

    def put(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> str:
        self.pages[path] = (200, content_type, body)
        return self.base + path


@contextmanager
def serve_site() -> Iterator[Site]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, content_type, body = site.pages.get(self.path, (404, "text/html", b"<h1>Not found</h1>"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
