"""Download a web page safely: public addresses only, few redirects, a byte cap and a total deadline."""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.sources.document import SourceLimits, fail, size_text

USER_AGENT = "articlebot/0.1 (+https://github.com/)"
HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8,*/*;q=0.5",
}
REDIRECTS = {301, 302, 303, 307, 308}
PRIVATE_HINT = "set FETCH_ALLOW_PRIVATE_NETWORKS=true to allow it"

Progress = Callable[[int, int | None], None]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Fetched:
    """A page's bytes and what the server said they are."""

    url: str  # after redirects
    media_type: str  # "text/html", "" when the server did not say
    charset: str | None
    body: bytes


def is_public(ip: Address) -> bool:
    """Whether an address is on the public internet (an IPv4-mapped IPv6 address counts as its IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    flags = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_reserved,
        ip.is_multicast,
        ip.is_unspecified,
    )
    return ip.is_global and not any(flags)


def _check_host(url: httpx.URL, source: str, limits: SourceLimits) -> None:
    """Refuse a scheme other than http(s) and, unless allowed, a host with any non-public address."""
    if url.scheme not in ("http", "https"):
        raise fail(source, f"only http and https links are supported, not {url.scheme or 'this'}")
    host = url.host
    if not host:
        raise fail(source, "the link has no host name")
    if limits.allow_private_networks:
        return
    try:
        infos = socket.getaddrinfo(
            host, url.port or (443 if url.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        raise fail(source, f"the host {host} was not found (DNS lookup failed)") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not is_public(ip):
            where = host if host == str(ip) else f"{host} ({ip})"
            raise fail(source, f"{where} is on a private network; {PRIVATE_HINT}")


def _check_peer(response: httpx.Response, source: str, limits: SourceLimits) -> None:
    """Check the address actually connected to: the name may resolve differently the second time."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer and not limits.allow_private_networks and not is_public(ipaddress.ip_address(peer[0])):
        raise fail(source, f"{response.url.host} ({peer[0]}) is on a private network; {PRIVATE_HINT}")


def _content_type(response: httpx.Response) -> tuple[str, str | None]:
    header = response.headers.get("content-type", "")
    charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", header, re.IGNORECASE)
    return header.split(";")[0].strip().lower(), charset[1] if charset else None


def _read(
    response: httpx.Response, source: str, limits: SourceLimits, deadline: float, progress: Progress | None
) -> bytes:
    """The body, refused as soon as it passes max_bytes (decompressed bytes count) or the deadline."""
    length = response.headers.get("content-length", "")
    total = int(length) if length.isdigit() else None
    too_large = f"it is larger than the {size_text(limits.max_bytes)} limit"
    if total is not None and total > limits.max_bytes:
        raise fail(source, too_large)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise fail(source, too_large)
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("deadline")
        chunks.append(chunk)
        if progress is not None:
            progress(response.num_bytes_downloaded, total)
    return b"".join(chunks)


def _reason(error: httpx.HTTPError) -> str:
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
    # trust_env=False: a proxy from the environment would connect on our behalf, past the address checks.
    with httpx.Client(headers=HEADERS, follow_redirects=False, trust_env=False) as client:
        for _ in range(limits.max_redirects + 1):
            _check_host(current, url, limits)
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise httpx.ReadTimeout("deadline")
                with client.stream("GET", current, timeout=remaining) as response:
                    _check_peer(response, url, limits)
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
