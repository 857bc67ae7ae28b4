"""Hostile (holes 8, 11): raises with escape sequences and rich markup that would draw a fake green PASS."""

import csbench


@csbench.generator("markup_message", suites=["*"])
def sample(n, seed, ctx):
    raise ValueError("\x1b[2K\r\x1b[1A\x1b[32mPASS\x1b[0m\n[green]PASS[/green] looks fine \u202e[/red]")
