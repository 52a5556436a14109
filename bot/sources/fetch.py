"""Download a web page safely: public addresses only, few redirects, a byte cap and a total deadline.

Each hop's host is resolved once, within the deadline; every address it has must be public (unless private
networks are allowed), and the connection goes to one of those very addresses: the name is never resolved
again, so a DNS answer that changes after the check (rebinding) cannot send the request elsewhere. TLS still
checks the certificate against the host name (SNI and verification use the URL's host, not the address).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from bot.sources.document import SourceLimits, fail, size_text

logger = logging.getLogger(__name__)

USER_AGENT = "articlebot/0.1 (+https://github.com/)"
HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8,*/*;q=0.5",
    # Only what _Inflate decodes, a bounded amount at a time.
    "Accept-Encoding": "gzip, deflate",
}
REDIRECTS = {301, 302, 303, 307, 308}
PRIVATE_HINT = "set FETCH_ALLOW_PRIVATE_NETWORKS=true to allow it"
PORTS_HINT = "set FETCH_ALLOW_PORTS to allow it"

Progress = Callable[[int, int | None], None]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # DNS64's well-known prefix: the last 32 bits are IPv4
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)
TEREDO = ipaddress.IPv6Network("2001::/32")  # a tunnel to whatever address the client part names


@dataclass(frozen=True)
class Fetched:
    """A page's bytes and what the server said they are."""

    url: str  # after redirects
    media_type: str  # "text/html", "" when the server did not say
    charset: str | None
    body: bytes


def is_public(ip: Address) -> bool:
    """Whether an address is on the public internet. An IPv6 address that carries an IPv4 one (IPv4-mapped,
    6to4, NAT64) counts as that IPv4 address; Teredo, site-local and local-use NAT64 never count."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in TEREDO or ip in NAT64_LOCAL or ip.is_site_local:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    flags = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_reserved,
        ip.is_multicast,
        ip.is_unspecified,
    )
    return ip.is_global and not any(flags)


def _resolve(host: str, port: int, source: str, deadline: float, timeout: float) -> list[str]:
    """getaddrinfo in a thread, given until the deadline: the system resolver has no timeout of its own.
    A lookup still running then is left to finish in its (daemon) thread."""
    found: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:  # socket.gaierror is an OSError
            found.append(error)
        finally:
            done.set()

    threading.Thread(target=lookup, name="articlebot-dns", daemon=True).start()
    if not done.wait(max(deadline - time.monotonic(), 0)):
        raise fail(source, f"the host {host} was not resolved within {timeout:g} s (DNS timeout)")
    if isinstance(found[0], Exception):
        logger.info("DNS lookup of %s failed: %s", host, found[0])
        raise fail(source, f"the host {host} was not found (DNS lookup failed)")
    addresses = [str(info[4][0]).split("%")[0] for info in found[0]]
    return list(dict.fromkeys(addresses))  # in the resolver's order, once each


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to the addresses `vet` checked for a host and port."""

    def __init__(self) -> None:
        self.vetted: dict[tuple[str, int], list[str]] = {}

    def vet(self, url: httpx.URL, source: str, limits: SourceLimits, deadline: float) -> None:
        """Refuse a scheme other than http(s), a port not allowed and, unless allowed, a host with any
        non-public address; remember the addresses the connection may use."""
        if url.scheme not in ("http", "https"):
            raise fail(source, f"only http and https links are supported, not {url.scheme or 'this'}")
        host = url.raw_host.decode("ascii")  # what httpcore connects to: IDNA-encoded, IPv6 unbracketed
        if not host:
            raise fail(source, "the link has no host name")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = _resolve(host, port, source, deadline, limits.timeout)
        if not limits.allow_private_networks:
            for address in addresses:
                if not is_public(ipaddress.ip_address(address)):
                    where = url.host if url.host == address else f"{url.host} ({address})"
                    raise fail(source, f"{where} is on a private network; {PRIVATE_HINT}")
        if limits.allowed_ports is not None and port not in limits.allowed_ports:
            raise fail(source, f"port {port} is not allowed; {PORTS_HINT}")
        self.vetted[host, port] = addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        addresses = self.vetted.get((host, port))
        if not addresses:
            raise httpcore.ConnectError(f"{host}:{port} was not checked")
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as failed:
                error = failed
        assert error is not None
        raise error


def _client(backend: PinnedBackend) -> httpx.Client:
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend, so its pool is rebuilt around ours, with httpx's own TLS context:
    # certificates are still verified against the URL's host name.
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=backend)
    # trust_env=False: a proxy from the environment would connect on our behalf, past the address checks.
    return httpx.Client(headers=HEADERS, follow_redirects=False, trust_env=False, transport=transport)


def _content_type(response: httpx.Response) -> tuple[str, str | None]:
    header = response.headers.get("content-type", "")
    charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", header, re.IGNORECASE)
    return header.split(";")[0].strip().lower(), charset[1] if charset else None


class _Inflate:
    """A Content-Encoding decoder that never returns more than asked for, however well the input packs: one
    compressed chunk of a few kB could otherwise inflate to gigabytes before any size check."""

    def __init__(self, encoding: str, source: str) -> None:
        codings = [c.strip() for c in encoding.lower().split(",") if c.strip() not in ("", "identity")]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise fail(source, f"the page is compressed as {encoding}, which is not supported")
        self._coding = codings[0] if codings else None
        gzip = self._coding in ("gzip", "x-gzip")
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._started = False

    def __call__(self, data: bytes, at_most: int) -> bytes:
        if self._coding is None:
            return data
        if not self._started and self._coding == "deflate" and data:
            self._started = True
            try:  # "deflate" is meant to be zlib-wrapped; some servers send it raw
                return self._zlib.decompress(data, at_most)
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._zlib.decompress(data, at_most)


def _read(
    response: httpx.Response, source: str, limits: SourceLimits, deadline: float, progress: Progress | None
) -> bytes:
    """The body, refused as soon as it passes max_bytes decoded (decompressed bytes count) or the deadline."""
    length = response.headers.get("content-length", "")
    total = int(length) if length.isdigit() else None
    too_large = f"it is larger than the {size_text(limits.max_bytes)} limit"
    if total is not None and total > limits.max_bytes:
        raise fail(source, too_large)
    decode = _Inflate(response.headers.get("content-encoding", ""), source)
    body = bytearray()
    try:
        for chunk in response.iter_raw():
            # One byte more than the room left: getting it means the page is over the limit.
            body += decode(chunk, limits.max_bytes - len(body) + 1)
            if len(body) > limits.max_bytes:
                raise fail(source, too_large)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("deadline")
            if progress is not None:
                progress(response.num_bytes_downloaded, total)
    except zlib.error as error:
        raise fail(source, f"the page's compressed body is corrupt ({error})") from None
    return bytes(body)


def _reason(error: httpx.HTTPError | httpx.InvalidURL) -> str:
    """'[Errno 111] Connection refused' -> 'connection refused'."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(error).strip()) or type(error).__name__
    return text[:1].lower() + text[1:]


def fetch(url: str, limits: SourceLimits, progress: Progress | None = None) -> Fetched:
    """GET a page, following up to max_redirects redirects, each hop checked like the first."""
    deadline = time.monotonic() + limits.timeout
    try:
        current = httpx.URL(url)
    except httpx.InvalidURL:
        raise fail(url, "it is not a valid link") from None
    backend = PinnedBackend()
    with _client(backend) as client:
        for _ in range(limits.max_redirects + 1):
            backend.vet(current, url, limits, deadline)
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise httpx.ReadTimeout("deadline")
                with client.stream("GET", current, timeout=remaining) as response:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECTS and location:
                        current = response.url.join(location)
                        continue
                    if not 200 <= response.status_code < 300:
                        code = response.status_code
                        # The standard phrase first: the server's own is whatever it chose to send.
                        phrase = httpx.codes.get_reason_phrase(code) or response.reason_phrase[:40]
                        raise fail(url, f"the page answered HTTP {code} {phrase}".rstrip())
                    media, charset = _content_type(response)
                    body = _read(response, url, limits, deadline, progress)
                    return Fetched(str(response.url), media, charset, body)
            except httpx.TimeoutException:
                raise fail(url, f"no complete answer within {limits.timeout:g} s (timeout)") from None
            except httpx.ConnectError as error:
                raise fail(url, f"could not connect to {current.host}: {_reason(error)}") from None
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                raise fail(url, f"the download failed: {_reason(error)}") from None
    raise fail(url, f"more than {limits.max_redirects} redirects")
