"""bot.sources against real files and a real HTTP server on 127.0.0.1: the story is kept, site chrome is
dropped, and every failure is one line naming the source and the problem. No model, no embedder."""

from __future__ import annotations

import ast
import functools
import gzip
import ipaddress
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.sources import Document, SourceError, SourceLimits, load_bytes, load_source, load_text, slugify
from bot.sources import fetch as fetch_module

# The test servers listen on 127.0.0.1, on whatever port is free.
OPEN = SourceLimits(allow_private_networks=True, allowed_ports=None)
TITLE = "River barges return to the Rhine as rail freight stalls"
STORY = [
    "Barge operators on the Rhine carried 12 percent more freight in March than a year earlier, the "
    "shipping association said on Tuesday, as a strike on the railways pushed shippers back to the river.",
    "Water levels at the Kaub gauge stood at 2.4 metres, deep enough for fully loaded vessels to pass the "
    "shallow stretch between Mainz and Koblenz without lightening their cargo.",
    "Operators warned that the gain could be short-lived. A dry spring would lower the river again by June, "
    "and the rail dispute was expected to end within weeks.",
    "The association counted 1,830 vessels in service, the highest number since 2019.",
]
CHROME = [
    "World news",
    "Business and markets",
    "Sport results",
    "We use cookies to improve your experience. Accept all cookies",
    "Most read",
    "Heatwave warning issued for the whole southern coast",
    "Central bank holds interest rates for a third month",
    "Ten recipes for a quick weeknight dinner",
    "Striker signs record contract with northern club",
    "Why your phone battery drains faster in winter",
    "Sign up for our daily briefing newsletter",
    "© 2025 Daily Gazette Media Group. All rights reserved.",
]
NAV = "".join(f'<li><a href="/s/{i}">{t}</a></li>' for i, t in enumerate(CHROME[:3]))
HEADER = (
    f'<div class="cookie-banner"><p>{CHROME[3]}</p><button>OK</button></div>'
    f"<header><nav><ul>{NAV}</ul></nav></header>"
)
FOOTER = f"<footer><p>{CHROME[-1]}</p></footer>"
MOST_READ = "".join(f'<li><a href="/a/{i}">{t}</a></li>' for i, t in enumerate(CHROME[5:10]))
ARTICLE_PAGE = (
    f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{TITLE} | Gazette</title></head><body>{HEADER}"
    f"<main><article><h1>{TITLE}</h1>{''.join(f'<p>{p}</p>' for p in STORY)}</article>"
    f'<aside><h2>{CHROME[4]}</h2><ol>{MOST_READ}</ol></aside><div class="newsletter"><p>{CHROME[10]}</p>'
    f"<form><input type='email'></form></div></main>{FOOTER}</body></html>"
).encode()
NAV_ONLY_PAGE = f"<html><head><title>Gazette</title></head><body>{HEADER}{FOOTER}</body></html>".encode()
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
LATIN1_PAGE = (
    "<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
    "<title>Été</title></head><body><article><h1>Été à Paris</h1>"
    + "".join(f"<p>{p} Le café était fermé à l’été.</p>" for p in STORY)
    + "</article></body></html>"
).encode("cp1252")


@functools.cache
def bomb() -> bytes:
    """50 MB of zeros, gzip-compressed to about 50 kB: one network read inflates to all of it."""
    return gzip.compress(b"\0" * 50_000_000, compresslevel=9)


class Handler(BaseHTTPRequestHandler):
    """Serves each case the tests need by path."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_encoded(self, body: bytes, encoding: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        if path == "/article":
            self.send(200, ARTICLE_PAGE)
        elif path == "/nav-only":
            self.send(200, NAV_ONLY_PAGE)
        elif path == "/empty":
            self.send(200, b"")
        elif path == "/binary":
            self.send(200, PNG, "application/octet-stream")
        elif path == "/image":
            self.send(200, PNG, "image/png")
        elif path == "/plain.txt":
            self.send(200, "\n\n".join([TITLE, *STORY]).encode(), "text/plain; charset=utf-8")
        elif path == "/latin1":
            self.send(200, LATIN1_PAGE, "text/html")
        elif path == "/pdf":
            self.send(200, make_pdf(), "application/pdf")
        elif path == "/gzip":
            self.send_encoded(gzip.compress(ARTICLE_PAGE), "gzip")
        elif path == "/deflate-raw":  # "deflate" without its zlib wrapper, as some servers send it
            packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            self.send_encoded(packer.compress(ARTICLE_PAGE) + packer.flush(), "deflate")
        elif path == "/bomb":
            self.send_encoded(bomb(), "gzip")
        elif path == "/large":
            self.send(200, b"<p>" + b"x" * 50_000 + b"</p>")
        elif path == "/endless":  # no Content-Length: only the byte count read so far can stop it
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(500):
                    self.wfile.write(b"<p>" + b"x" * 10_000 + b"</p>")
            except OSError:
                pass  # the client hung up, as it should
            self.close_connection = True
        elif path.startswith("/redirect/"):
            hops = int(path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/redirect/{hops - 1}" if hops > 1 else "/article")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/to-loopback":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.target_port}/article")  # type: ignore[attr-defined]
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            time.sleep(3)
            self.send(200, ARTICLE_PAGE)
        elif path == "/trickle":  # each chunk comes in time; the whole does not
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(10):
                    self.wfile.write(b"<p>" + b"y" * 100 + b"</p>")
                    self.wfile.flush()
                    time.sleep(0.3)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/error":
            self.send(500, b"oops", "text/plain")
        else:
            self.send(404, b"<h1>Not found</h1>")


def serve(host: str) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    yield from serve("127.0.0.1")


@pytest.fixture(scope="module")
def base(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def make_pdf() -> bytes:
    """A one-page PDF with a text layer (Helvetica), its xref table computed: the title line, two
    paragraphs wrapped over several lines (each ending short with a full stop), and a page number."""
    lines = [
        TITLE,
        "",
        "Barge operators on the Rhine carried 12 percent more freight in March than a year",
        "earlier, the shipping association said on Tuesday, as a strike on the railways pushed",
        "shippers back to the river.",
        "Water levels at the Kaub gauge stood at 2.4 metres, deep enough for fully loaded vessels",
        "to pass the shallow stretch between Mainz and Koblenz without lightening their cargo.",
        "1",
    ]
    content = "BT /F1 11 Tf 14 TL 72 760 Td " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Title (Microsoft Word - barges.docx) >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return out


def error_of(call, *args, **kwargs) -> str:
    """The message of the SourceError a call raises, checked to be one line."""
    with pytest.raises(SourceError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("Cannot load ")
    return message


def paragraphs(doc: Document) -> list[str]:
    assert "\n\n\n" not in doc.text and doc.text == doc.text.strip()
    return doc.text.split("\n\n")


# --- web pages -----------------------------------------------------------------------------------------


def test_article_page_keeps_the_story_and_drops_the_site_chrome(base: str) -> None:
    seen: list[tuple[int, int | None]] = []
    doc = load_source(f"{base}/article", OPEN, progress=lambda done, total: seen.append((done, total)))
    assert doc.title == TITLE
    assert paragraphs(doc) == STORY  # the title is not repeated as the first paragraph
    assert [s for s in CHROME if s in doc.text] == []
    assert doc.source == f"{base}/article"
    assert seen and seen[-1] == (len(ARTICLE_PAGE), len(ARTICLE_PAGE))


@pytest.mark.parametrize(
    ("path", "limits", "expected"),
    [
        ("/missing", OPEN, "the page answered HTTP 404 Not Found"),
        ("/error", OPEN, "the page answered HTTP 500 Internal Server Error"),
        ("/binary", OPEN, "it is a binary file, not text, HTML or PDF"),
        ("/image", OPEN, "the server sent image/png; only web pages"),
        ("/empty", OPEN, "it is empty"),
        ("/nav-only", OPEN, "no article text found"),
        (
            "/large",
            SourceLimits(max_bytes=10_000, allow_private_networks=True, allowed_ports=None),
            "larger than the 10 kB limit",
        ),
        (
            "/endless",
            SourceLimits(max_bytes=100_000, allow_private_networks=True, allowed_ports=None),
            "larger than the 100 kB limit",
        ),
        ("/redirect/5", OPEN, "more than 3 redirects"),
        (
            "/article",
            SourceLimits(max_chars=300, allow_private_networks=True, allowed_ports=None),
            "the limit is 300",
        ),
    ],
)
def test_a_page_that_is_no_article_is_refused_in_one_line(
    base: str, path: str, limits, expected: str
) -> None:
    message = error_of(load_source, base + path, limits)
    assert message.startswith(f"Cannot load {base}{path}: ")
    assert expected in message


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
def test_the_timeout_bounds_the_whole_download(base: str, path: str) -> None:
    start = time.monotonic()
    message = error_of(
        load_source, base + path, SourceLimits(timeout=1, allow_private_networks=True, allowed_ports=None)
    )
    assert "no complete answer within 1 s (timeout)" in message
    assert time.monotonic() - start < 2.5


def test_the_byte_cap_stops_the_download_early(base: str) -> None:
    seen: list[int] = []
    limits = SourceLimits(max_bytes=100_000, allow_private_networks=True, allowed_ports=None)
    error_of(load_source, f"{base}/endless", limits, progress=lambda done, total: seen.append(done))
    assert seen and max(seen) <= 100_000 + 65_536  # stopped within a chunk of the cap, not at 5 MB


def test_compressed_pages_are_decoded(base: str) -> None:
    assert paragraphs(load_source(f"{base}/gzip", OPEN)) == STORY
    assert paragraphs(load_source(f"{base}/deflate-raw", OPEN)) == STORY


def test_a_compressed_page_is_inflated_no_further_than_the_byte_cap(base: str) -> None:
    bomb()  # built before measuring
    limits = SourceLimits(max_bytes=100_000, allow_private_networks=True, allowed_ports=None)
    tracemalloc.start()
    try:
        message = error_of(load_source, f"{base}/bomb", limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "it is larger than the 100 kB limit" in message
    # Its 50 kB on the wire hold 50 MB: decoded a read at a time, one read alone would take 50 MB.
    assert peak < 5_000_000, f"{peak:,} bytes allocated while reading a 100 kB-capped page"


def test_redirects_within_the_limit_are_followed(base: str) -> None:
    doc = load_source(f"{base}/redirect/3", OPEN)
    assert paragraphs(doc) == STORY and doc.source == f"{base}/redirect/3"


def test_plain_text_latin1_html_and_pdf_over_http(base: str) -> None:
    assert paragraphs(load_source(f"{base}/plain.txt", OPEN)) == STORY
    latin = load_source(f"{base}/latin1", OPEN)
    assert latin.title == "Été à Paris" and "Le café était fermé à l’été." in latin.text
    assert load_source(f"{base}/pdf", OPEN).title == TITLE


# --- where a link may lead ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_private_networks_are_allowed(base: str, host: str) -> None:
    url = base.replace("127.0.0.1", host) + "/article"
    message = error_of(load_source, url, SourceLimits())
    assert "is on a private network; set FETCH_ALLOW_PRIVATE_NETWORKS=true to allow it" in message
    assert load_source(url, OPEN).title == TITLE


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # cloud metadata
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("ff02::1", False),
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("2002:a9fe:a9fe::", False),  # 6to4 around 169.254.169.254
        ("2002:c0a8:101::1", False),  # 6to4 around 192.168.1.1
        ("2002:808:808::1", True),  # 6to4 around 8.8.8.8
        ("fec0::1", False),  # site-local
        ("64:ff9b::7f00:1", False),  # NAT64 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 around 169.254.169.254
        ("64:ff9b::808:808", True),  # NAT64 around 8.8.8.8
        ("64:ff9b:1::808:808", False),  # local-use NAT64
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("::7f00:1", False),  # IPv4-compatible (deprecated) 127.0.0.1
    ],
)
def test_only_global_addresses_count_as_public(address: str, public: bool) -> None:
    assert fetch_module.is_public(ipaddress.ip_address(address)) is public


@pytest.fixture
def public_stand_in(server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A server on 127.0.0.2 that the address check takes for the public internet; 127.0.0.1 stays private."""
    monkeypatch.setattr(fetch_module, "is_public", lambda ip: str(ip) == "127.0.0.2")
    for other in serve("127.0.0.2"):
        other.target_port = server.server_address[1]  # type: ignore[attr-defined]
        yield f"http://127.0.0.2:{other.server_address[1]}"


ANY_PORT = SourceLimits(allowed_ports=None)


def test_every_redirect_hop_is_checked(public_stand_in: str) -> None:
    assert load_source(f"{public_stand_in}/redirect/1", ANY_PORT).title == TITLE
    message = error_of(load_source, f"{public_stand_in}/to-loopback", ANY_PORT)
    assert "127.0.0.1 is on a private network" in message


def test_only_ports_80_and_443_unless_allowed(public_stand_in: str) -> None:
    port = int(public_stand_in.rsplit(":", 1)[1])
    message = error_of(load_source, f"{public_stand_in}/article", SourceLimits())
    assert f"port {port} is not allowed; set FETCH_ALLOW_PORTS to allow it" in message
    assert load_source(f"{public_stand_in}/article", SourceLimits(allowed_ports=frozenset({port}))).title
    assert Settings(_env_file=None).fetch_ports == {80, 443}
    assert Settings(_env_file=None, fetch_allow_ports=f"443, {port}").fetch_ports == {443, port}
    assert Settings(_env_file=None, fetch_allow_ports="*").fetch_ports is None
    with pytest.raises(ValueError, match="FETCH_ALLOW_PORTS"):
        Settings(_env_file=None, fetch_allow_ports="http")


def counting_server(host: str, port: int, requests: list[str]) -> ThreadingHTTPServer:
    """The test site on host:port, noting the path of every request it gets."""

    class Counting(Handler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

    server = ThreadingHTTPServer((host, port), Counting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def test_a_name_that_resolves_elsewhere_the_second_time_never_reaches_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name is public when checked, loopback when looked up again. The request goes to
    the address that was checked, and the loopback server never gets one."""
    monkeypatch.setattr(fetch_module, "is_public", lambda ip: str(ip) == "127.0.0.2")
    public_requests: list[str] = []
    private_requests: list[str] = []
    public = counting_server("127.0.0.2", 0, public_requests)
    port = public.server_address[1]
    private = counting_server("127.0.0.1", port, private_requests)  # the same port, the bot's own host
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, *args, **kwargs):
        if host == "rebind.test":
            lookups.append(host)
            host = "127.0.0.2" if len(lookups) == 1 else "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        assert load_source(f"http://rebind.test:{port}/article", ANY_PORT).title == TITLE
        assert public_requests == ["/article"] and len(lookups) == 1
        # A redirect to the same name is looked up again: loopback now, so refused before any request.
        lookups.clear()
        message = error_of(load_source, f"http://rebind.test:{port}/redirect/1", ANY_PORT)
        assert "rebind.test (127.0.0.1) is on a private network" in message
        assert public_requests == ["/article", "/redirect/1"]
        assert private_requests == [], "the private address got a request"
    finally:
        for server in (public, private):
            server.shutdown()
            server.server_close()


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[int, list[str | None], Path]]:
    """The test site over https on 127.0.0.1 with a certificate for news.test from a CA of our own: its port,
    the server names clients asked for (SNI), and the CA file."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the certificates")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    ca = ("-x509", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=articlebot test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", *ca, "-addext", "basicConstraints=critical,CA:TRUE")
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "site.key", "-out", "site.csr", "-subj", "/CN=x"
    )
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:news.test\nextendedKeyUsage=serverAuth\n")
    openssl(
        *("x509", "-req", "-in", "site.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"),
        *("-out", "site.pem", "-days", "2", "-extfile", "ext.cnf"),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "site.pem", tmp_path / "site.key")
    names: list[str | None] = []

    def note_name(connection: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = note_name
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_address[1], names, tmp_path / "ca.pem"
    server.shutdown()
    server.server_close()


def test_https_connects_to_the_checked_address_and_verifies_the_host_name(
    tls_site: tuple[int, list[str | None], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to the vetted address, yet TLS still sends the host name (SNI) and checks the
    certificate against it, not against the address."""
    port, names, ca = tls_site
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    real = socket.getaddrinfo
    resolve = {"news.test": "127.0.0.1", "other.test": "127.0.0.1"}
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(resolve.get(host, host), *a, **k))
    limits = SourceLimits(allow_private_networks=True, allowed_ports=None)
    assert load_source(f"https://news.test:{port}/article", limits).title == TITLE
    assert names == ["news.test"]
    message = error_of(load_source, f"https://other.test:{port}/article", limits)
    assert "certificate is not valid for 'other.test'" in message


def test_a_resolver_that_hangs_is_given_the_download_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    answered = threading.Event()  # never set: this resolver answers only after 5 s, and then not at all

    def hanging(host: str, *args, **kwargs):
        if host == "slow-dns.test":
            answered.wait(5)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    start = time.monotonic()
    message = error_of(load_source, "http://slow-dns.test/a", SourceLimits(timeout=1))
    assert "the host slow-dns.test was not resolved within 1 s (DNS timeout)" in message
    assert time.monotonic() - start < 2.5


def test_unreachable_unknown_and_unsupported_links(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    assert "could not connect to 127.0.0.1: connection refused" in error_of(
        load_source, f"http://127.0.0.1:{port}/", OPEN
    )
    real = socket.getaddrinfo

    def no_dns(host: str, *args, **kwargs):
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert "the host news.invalid was not found" in error_of(
        load_source, "https://news.invalid/a", SourceLimits()
    )
    assert "only http and https links are supported, not ftp" in error_of(load_source, "ftp://x.org/a", OPEN)


# --- files and uploads ---------------------------------------------------------------------------------


def test_text_file_with_a_headline(tmp_path: Path) -> None:
    path = tmp_path / "barges.txt"
    path.write_text(f"{TITLE}\n\n" + "\n\n".join(STORY) + "\n", encoding="utf-8")
    doc = load_source(str(path), OPEN)
    assert (doc.title, paragraphs(doc), doc.source) == (TITLE, STORY, str(path))


def test_text_file_wrapped_and_in_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "vieux.txt"
    path.write_bytes("Le café était\nfermé tout l'été.\n\nIl a rouvert en septembre.".encode("cp1252"))
    doc = load_source(str(path), OPEN)
    assert paragraphs(doc) == ["Le café était fermé tout l'été.", "Il a rouvert en septembre."]
    assert doc.title == "Le café était fermé tout l'été."  # no headline: the first (short) paragraph


def test_markdown_file(tmp_path: Path) -> None:
    path = tmp_path / "barges.md"
    path.write_text(
        f"# {TITLE}\n\nBarge operators carried **12 percent** more freight, the [association](https://x.org) "
        "said.\n![a barge](barge.jpg)\n\n## Water levels\n\nThe *Kaub* gauge read `2.4` metres.\n\n"
        "- Mainz to Koblenz\n- 1,830 vessels\n\n---\n\n> A dry spring would lower the river.\n",
        encoding="utf-8",
    )
    doc = load_source(str(path), OPEN)
    assert doc.title == TITLE
    assert paragraphs(doc) == [
        "Barge operators carried 12 percent more freight, the association said.",
        "Water levels",
        "The Kaub gauge read 2.4 metres.",
        "Mainz to Koblenz",
        "1,830 vessels",
        "A dry spring would lower the river.",
    ]


def test_html_file_and_upload(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(ARTICLE_PAGE)
    assert paragraphs(load_source(str(path), OPEN)) == STORY
    doc = load_bytes(ARTICLE_PAGE, "page.htm", "telegram:document:page.htm", OPEN)
    assert (doc.title, doc.source) == (TITLE, "telegram:document:page.htm")
    assert load_bytes(ARTICLE_PAGE, "page", "telegram:document:page", OPEN).title == TITLE  # sniffed


def test_pdf_file_and_upload(tmp_path: Path) -> None:
    path = tmp_path / "barges.pdf"
    path.write_bytes(make_pdf())
    doc = load_source(str(path), OPEN)
    assert doc.title == TITLE  # the metadata title was a Word file name, so the headline line is the title
    assert paragraphs(doc) == [STORY[0], STORY[1]]
    assert load_bytes(make_pdf(), "upload.bin", "telegram:document:upload.bin", OPEN).text == doc.text


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("empty.txt", b"", "it is empty"),
        ("blank.md", b"  \n\n \t\n", "it is empty"),
        ("photo.txt", PNG, "it is a binary file, not text, HTML or PDF"),
        ("noise.txt", bytes(range(1, 32)) * 40, "it is a binary file"),
        ("fake.pdf", b"hello, this is not a PDF", "it is not a valid PDF file"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", "the PDF could not be read"),
        (
            "notes.rtf",
            b"{\\rtf1 hello}",
            ".rtf files are not supported; only web pages, .txt, .md, .html and .pdf",
        ),
        ("big.txt", b"word " * 3000, "larger than the 10 kB limit"),
    ],
)
def test_an_unusable_file_is_refused_in_one_line(
    tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    limits = SourceLimits(max_bytes=10_000)
    path = tmp_path / name
    path.write_bytes(data)
    assert expected in error_of(load_source, str(path), limits)
    assert expected in error_of(load_bytes, data, name, f"telegram:document:{name}", limits)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    assert error_of(load_source, str(missing), OPEN) == f"Cannot load {missing}: no such file"
    assert "it is a folder, not a file" in error_of(load_source, str(tmp_path), OPEN)


def test_pdf_without_text(tmp_path: Path) -> None:
    blank = make_pdf().replace(b"BT /F1", b"%T /F1")  # the text object commented out: a scan, in effect
    assert "the PDF has no extractable text" in error_of(load_bytes, blank, "scan.pdf", "scan.pdf", OPEN)


# --- pasted text ---------------------------------------------------------------------------------------


def test_pasted_text_titles() -> None:
    doc = load_text(f"  {TITLE}\n\n" + "\n".join(STORY), "text", OPEN)
    assert (doc.title, paragraphs(doc), doc.source) == (TITLE, STORY, "text")  # one paragraph per line
    long_first = load_text(" ".join(STORY), "text", OPEN)
    assert long_first.title == "Barge operators on the Rhine carried 12 percent…"
    assert long_first.text == " ".join(STORY)
    assert error_of(load_text, " \n ", "text", OPEN) == "Cannot load text: the text is empty"
    too_long = error_of(load_text, "word " * 30, "text", SourceLimits(max_chars=100))
    assert too_long == "Cannot load text: the article is 149 characters long; the limit is 100"


# --- names ---------------------------------------------------------------------------------------------

CHROMA_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,46}[a-z0-9])$")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        (
            "Élection présidentielle : l’État face à la crise",
            "election-presidentielle-l-etat-face-a-la-crise",
        ),
        ("Белоусов: Россия продвигается по всем направлениям", "belousov-rossiya-prodvigaetsya-po-vsem"),
        ("英国天空广播公司的数字电视服务", "ying-guo-tian-kong-guang-bo-gong-si-de-shu-zi"),
        ("Super Bowl 50 — the Broncos' defense", "super-bowl-50-the-broncos-defense"),
        ("", "article"),
        ("?!", "article"),
        ("Ab", "article"),
        ("x" * 60, "x" * 48),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug == slugify(title)
    assert CHROMA_NAME.match(slug) and "--" not in slug


def test_sources_is_a_leaf_package() -> None:
    forbidden = ("bot.engine", "bot.telegram", "bot.settings", "store", "telegram")
    for path in Path(__file__).resolve().parent.parent.joinpath("bot", "sources").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not [n for n in names if n.split(".")[0] in forbidden or n.startswith(forbidden)], path
