import stat

import pytest

from csbench.cache import atomic_path, atomic_write_text, home, sha256_file


def test_home_follows_csbench_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CSBENCH_HOME", str(tmp_path / "h"))
    assert home() == tmp_path / "h"


def test_atomic_write_replaces_whole_files_with_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "record.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert stat.S_IMODE(target.stat().st_mode) & 0o044 == 0o044
    assert sha256_file(target) == "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "record.json"
    atomic_write_text(target, "kept")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_cached_arrays_compute_once_and_recompute_a_damaged_or_invalid_file(tmp_path):
    import numpy as np

    from csbench.cache import cached_arrays, reference_file

    path = reference_file("suite", "thing-n3.npz", tmp_path)
    assert path == tmp_path / "suite" / "thing-n3.npz"
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(3.0)}

    first = cached_arrays(path, compute)
    again = cached_arrays(path, compute)
    assert len(calls) == 1 and np.array_equal(first["x"], again["x"])
    path.write_bytes(b"not an archive")
    assert np.array_equal(cached_arrays(path, compute)["x"], np.arange(3.0)) and len(calls) == 2
    assert cached_arrays(path, compute, valid=lambda a: a["x"].shape == (4,)) and len(calls) == 3
