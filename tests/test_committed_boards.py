"""The committed boards are what the committed records render to: a record added without re-rendering fails here."""

import pytest
from conftest import ROOT

from csbench.cli import main

BOARDS = sorted(p.name for p in (ROOT / "leaderboards").glob("*.md"))


def test_there_are_committed_boards():
    assert {"README.md", "fashion-mnist.md", "magic.md"} <= set(BOARDS)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("boards")
    assert main(["leaderboard", "render", "--results", str(ROOT / "results"), "--out", str(out)]) in (0, None)
    return out


@pytest.mark.parametrize("name", BOARDS)
def test_committed_board_is_up_to_date(rendered, name):
    assert (rendered / name).read_text() == (ROOT / "leaderboards" / name).read_text(), (
        f"leaderboards/{name} is stale: run `csbench leaderboard render` and commit it")
