"""Hostile: builds its weight URL at import from what it read on the machine, so that a download would carry it to
whoever serves the URL. The harness fetches only what the source declares literally, so it refuses the file."""

import platform

import csbench

URL = f"http://127.0.0.1:9/{platform.node()}"


@csbench.generator("url_from_what_it_read", suites=["*"],
                   weights={"w.bin": (URL, "sha256:" + "0" * 64)})
def sample(n, seed, ctx):
    raise RuntimeError("never sampled")
