"""The child side of csbench.cache's bounded download: fetch one URL into a file, refusing more than a number of
bytes.

Run as `python -I download_worker.py URL OUT MAX_BYTES` by csbench.cache.fetch_pinned, which kills it at its
deadline: neither a slow name lookup, nor a server that trickles its headers or body, nor a chain of redirects can
hold the harness past it, which no socket timeout alone ensures. The standard library only. It reports on stdout
`size <bytes>` (or `size -`) once the headers are in, `got <bytes>` as data arrives, and on failure
`error <type>: <reason>` with exit status 1.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SCHEMES = ("http", "https")  # of redirects; a suite's own (trusted) URL may also be file://
SOCKET_TIMEOUT_S = 60  # each blocking socket operation; the whole download is bounded by the harness's deadline
MAX_REDIRECTS = 5
REPORT_EVERY_S = 0.1


class HttpRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects only to http(s) URLs, at most MAX_REDIRECTS of them."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in SCHEMES:
            raise ValueError("the server redirected to a URL that is not http(s)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def download(url: str, out: str, max_bytes: int) -> None:
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(), urllib.request.FileHandler(),
                    urllib.request.UnknownHandler(), HttpRedirects(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor(),
                    urllib.request.ProxyHandler()):
        opener.add_handler(handler)
    with opener.open(url, timeout=SOCKET_TIMEOUT_S) as response, open(out, "wb") as f:
        size = response.headers.get("Content-Length")
        report(f"size {int(size) if size and size.isdigit() else '-'}")
        written, reported = 0, 0.0
        for block in iter(lambda: response.read1(1 << 16), b""):
            written += len(block)
            if written > max_bytes:
                raise ValueError(f"the server sent more than {max_bytes:,} bytes")
            f.write(block)
            if time.monotonic() - reported > REPORT_EVERY_S:
                report(f"got {written}")
                reported = time.monotonic()
        report(f"got {written}")


def main(url: str, out: str, max_bytes: str) -> int:
    try:
        download(url, out, int(max_bytes))
    except Exception as exc:  # one line for the harness: the type and the reason, never a traceback
        reason = getattr(exc, "reason", None) or exc
        report(f"error {type(exc).__name__}: {' '.join(str(reason).split())}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
