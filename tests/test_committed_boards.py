"""The committed boards are what the committed records render to: a record added without re-rendering fails here."""

import shutil

import pytest
from conftest import ROOT

from csbench.cli import main

BOARDS = sorted(p.name for p in (ROOT / "leaderboards").glob("*.md"))


def test_there_are_committed_boards():
    assert {"README.md", "fashion-mnist.md", "magic.md"} <= set(BOARDS)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The boards rendered from a copy of the records laid out as in the repository, so that their links to the
    sample grids (relative, `../results/...`) come out as committed."""
    root = tmp_path_factory.mktemp("repository")
    shutil.copytree(ROOT / "results", root / "results")
    out = root / "leaderboards"
    assert main(["leaderboard", "render", "--results", str(root / "results"), "--out", str(out)]) in (0, None)
    return out


@pytest.mark.parametrize("name", BOARDS)
def test_committed_board_is_up_to_date(rendered, name):
    assert (rendered / name).read_text() == (ROOT / "leaderboards" / name).read_text(), (
        f"leaderboards/{name} is stale: run `csbench leaderboard render` and commit it")
