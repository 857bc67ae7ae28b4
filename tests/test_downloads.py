"""Pinned downloads (csbench.cache), the restricted unpickler (csbench.pickles) and generator weights by URL,
against a tiny HTTP server on 127.0.0.1 and a refused port for the offline case."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import pickle
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import write_fashion_mnist
from numpy.lib import format as npy_format

import csbench
from csbench.cache import DownloadLimits, Pin, fetch_pinned, git_blob_id, home, pinned_path
from csbench.errors import ChecksumMismatch, CsbenchError, GeneratorError
from csbench.generators import GENERATORS, SampleContext, fetch_generator_weights, load_generator_file
from csbench.pickles import load_pickled_npy
from csbench.sandbox import Limits

OFFLINE = "http://127.0.0.1:9/weights.pt"  # the discard port: nothing listens, the connection is refused
CONTENT = b"pinned weights\n" * 1000


def sha256_pin(data: bytes) -> Pin:
    return Pin("sha256", hashlib.sha256(data).hexdigest())


@pytest.fixture
def server():
    """Serves `server.files` (path -> bytes) and counts the requests."""
    files: dict[str, bytes] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.files, httpd.hits, httpd.url = files, hits, f"http://127.0.0.1:{httpd.server_port}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_git_blob_id_is_what_git_hash_object_prints(tmp_path):
    (tmp_path / "hello").write_bytes(b"hello\n")
    assert git_blob_id(tmp_path / "hello") == "ce013625030ba8dba906f756967f9e9ca394464a"


@pytest.mark.parametrize("text", ["sha256:abc", "md5:" + "0" * 32, "git-blob:" + "G" * 40, "0" * 64, ""])
def test_a_malformed_pin_is_one_line(text):
    with pytest.raises(CsbenchError, match="is not sha256:<64 hex digits> or git-blob:<40 hex digits>"):
        Pin.parse(text)


def test_pins_round_trip():
    for text in ("sha256:" + "ab" * 32, "git-blob:" + "cd" * 20):
        assert str(Pin.parse(text)) == text


def test_download_verifies_then_caches(server, tmp_path):
    server.files["/w.pt"] = CONTENT
    dest = tmp_path / "cache" / "w.pt"
    for _ in range(2):
        assert fetch_pinned(f"{server.url}/w.pt", sha256_pin(CONTENT), dest, "w", "hint").read_bytes() == CONTENT
    assert server.hits == ["/w.pt"], "the verified copy is reused, not downloaded again"
    assert [p.name for p in dest.parent.iterdir()] == ["w.pt"]


def test_a_download_that_misses_its_pin_is_refused_and_not_kept(server, tmp_path):
    server.files["/w.pt"] = CONTENT + b"tampered"
    dest = tmp_path / "w.pt"
    with pytest.raises(ChecksumMismatch, match="downloaded from .* has sha256 .* corrupt or not the pinned one") as err:
        fetch_pinned(f"{server.url}/w.pt", sha256_pin(CONTENT), dest, "weight file w.pt", "hint")
    assert "\n" not in str(err.value) and list(tmp_path.iterdir()) == []


def test_a_damaged_cached_copy_is_downloaded_again(server, tmp_path):
    server.files["/w.pt"] = CONTENT
    dest = tmp_path / "w.pt"
    dest.write_bytes(b"truncated")
    fetch_pinned(f"{server.url}/w.pt", sha256_pin(CONTENT), dest, "w", "hint")
    assert dest.read_bytes() == CONTENT and server.hits == ["/w.pt"]


def test_a_copy_placed_by_hand_is_verified_and_used_offline(tmp_path):
    dest = tmp_path / "w.pt"
    dest.write_bytes(CONTENT)
    assert fetch_pinned(OFFLINE, Pin("git-blob", git_blob_id(dest)), dest, "w", "hint") == dest


@pytest.mark.parametrize("url", [OFFLINE, "http://127.0.0.1:9/missing", "file:///nonexistent/w.pt"])
def test_offline_is_one_line_naming_the_url_and_the_way_out(url, tmp_path):
    with pytest.raises(CsbenchError) as err:
        fetch_pinned(url, sha256_pin(CONTENT), tmp_path / "w.pt", "weight file w.pt", "put it there yourself")
    message = str(err.value)
    assert message.startswith(f"weight file w.pt is not in {tmp_path} and could not be downloaded from {url} (")
    assert message.endswith("; put it there yourself") and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_missing_file_on_the_server_is_one_line(server, tmp_path):
    with pytest.raises(CsbenchError, match=r"could not be downloaded .*HTTPError: Not Found"):
        fetch_pinned(f"{server.url}/absent.pt", sha256_pin(CONTENT), tmp_path / "w.pt", "w", "hint")


def test_a_server_that_sends_too_much_is_cut_off(server, tmp_path):
    server.files["/big"] = b"x" * 5000
    with pytest.raises(CsbenchError, match="more than 1,000 bytes"):
        fetch_pinned(f"{server.url}/big", sha256_pin(b"x" * 5000), tmp_path / "big", "big", "hint", max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


def write_npy(path: Path, obj, protocol: int = 4) -> None:
    """`np.save(path, obj)` at a pickle protocol of choice (NumPy 1 on Python 3 used 3, NumPy 2 uses 4)."""
    array = np.empty((), dtype=object)
    array[()] = obj
    data = pickle.dumps(array, protocol=protocol)
    with open(path, "wb") as f:
        npy_format.write_array_header_1_0(f, npy_format.header_data_from_array_1_0(array))
        f.write(data)


@pytest.mark.parametrize("protocol", [3, 4])
def test_restricted_unpickler_reads_a_dict_of_arrays(tmp_path, protocol):
    layers = {"conv1": {"weights": np.arange(6, dtype=np.float32).reshape(2, 3), "biases": np.zeros(3)},
              "ip1": {"weights": np.ones((2, 2), np.float64), "biases": [1, 2.5, "x", (3,)]}}
    write_npy(tmp_path / "t.npy", layers, protocol)
    loaded = load_pickled_npy(tmp_path / "t.npy", "t.npy")
    assert loaded.keys() == layers.keys() and loaded["ip1"]["biases"] == [1, 2.5, "x", (3,)]
    np.testing.assert_array_equal(loaded["conv1"]["weights"], layers["conv1"]["weights"])
    assert loaded["conv1"]["weights"].dtype == np.float32


class Smuggler:
    """Pickles as a call to os.system: `np.load(allow_pickle=True)` would run the command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_restricted_unpickler_refuses_a_smuggled_callable_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    write_npy(tmp_path / "evil.npy", {"conv1": {"weights": Smuggler(marker)}})
    with pytest.raises(CsbenchError, match=r"evil.npy cannot be read .*references (posix|os)\.system, and only "
                                           "NumPy arrays and plain containers are allowed") as err:
        load_pickled_npy(tmp_path / "evil.npy", "evil.npy")
    assert "\n" not in str(err.value) and not marker.exists()


def test_restricted_unpickler_refuses_other_globals(tmp_path):
    import collections

    write_npy(tmp_path / "od.npy", {"a": collections.OrderedDict(b=1)})
    with pytest.raises(CsbenchError, match="references collections.OrderedDict"):
        load_pickled_npy(tmp_path / "od.npy", "od.npy")


@pytest.mark.parametrize("content, match", [(np.zeros(3), "holds a float64 array of shape"),
                                            (b"not a numpy file", "cannot be read as a NumPy file")])
def test_files_that_are_not_a_pickled_object_are_one_line(tmp_path, content, match):
    path = tmp_path / "x.npy"
    np.save(path, content) if isinstance(content, np.ndarray) else path.write_bytes(content)
    with pytest.raises(CsbenchError, match=match):
        load_pickled_npy(path, "x.npy")


def write_generator(folder: Path, weights: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "weighted.py"
    path.write_text(f'''import csbench
import torch


@csbench.generator("weighted", suites=["*"], weights={weights})
def sample(n, seed, ctx):
    value = ctx.weights["w.bin"].read_bytes()[0] / 255
    return torch.full((n, *ctx.shape), value)
''')
    return path


def test_a_generator_declares_weights_that_the_harness_fetches(server, tmp_path):
    server.files["/w.bin"] = b"\x80" + CONTENT
    pin = sha256_pin(b"\x80" + CONTENT)
    gen = load_generator_file(write_generator(tmp_path, f"{{'w.bin': ('{server.url}/w.bin', '{pin}')}}"))
    assert [w.to_json() for w in gen.weights] == [["w.bin", f"{server.url}/w.bin", str(pin)]]
    paths = fetch_generator_weights(gen)
    assert paths == {"w.bin": pinned_path(pin)}
    ctx = SampleContext(suite="s", shape=(1, 2, 2), num_classes=2, directory=tmp_path, weights=paths)
    assert gen.sample(3, 0, ctx).unique().item() == pytest.approx(128 / 255)


def test_generator_weights_offline_are_one_line(tmp_path):
    pin = sha256_pin(CONTENT)
    gen = load_generator_file(write_generator(tmp_path, f"{{'w.bin': ('{OFFLINE}', '{pin}')}}"))
    with pytest.raises(CsbenchError) as err:
        fetch_generator_weights(gen)
    message = str(err.value)
    assert message.startswith(f"weight file w.bin of generator weighted is not in {home() / 'pinned'} and")
    assert OFFLINE in message and f"save it as {pinned_path(pin)}" in message and "\n" not in message


def test_generator_weights_that_miss_their_pin_are_refused(server, tmp_path):
    server.files["/w.bin"] = b"other"
    declared = f"{{'w.bin': ('{server.url}/w.bin', '{sha256_pin(CONTENT)}')}}"
    gen = load_generator_file(write_generator(tmp_path, declared))
    with pytest.raises(ChecksumMismatch, match="weight file w.bin of generator weighted downloaded from"):
        fetch_generator_weights(gen)


@pytest.mark.parametrize("weights, match", [
    ({"../w.bin": ("https://example.org/w", "sha256:" + "0" * 64)}, "is not a plain file name"),
    ({"w.bin": ("file:///etc/passwd", "sha256:" + "0" * 64)}, "an http\\(s\\) URL is needed"),
    ({"w.bin": ("https://example.org/w", "sha1:00")}, "is not sha256:"),
    ({"w.bin": "https://example.org/w"}, "not \\{file name: \\(url, pin\\)\\}"),
])
def test_bad_weight_declarations_are_one_line(weights, match):
    with pytest.raises(GeneratorError, match=f"^generator bad declares .*{match}") as err:
        csbench.generator("bad", suites=["*"], weights=weights)
    assert "bad" not in GENERATORS and "\n" not in str(err.value)


# Issue 28: downloads run in the harness, so each is bounded, stored once per pin, cleaned when printed, and never a
# dataset's file.

@pytest.fixture
def trickler():
    """A server that answers one byte every 0.2 s, in its headers (`/headers`) or in its body (`/body`); `/short<i>`
    sends three bytes i in its body the same way."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = bytes([int(self.path[6:])]) * 3 if self.path.startswith("/short") else b"x" * 1000
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
            data = head + body if self.path == "/headers" else None
            try:
                if data is None:
                    self.wfile.write(head)
                    data = body
                for byte in data:  # the pause comes first, so three bytes take 0.6 s however fast the client
                    time.sleep(0.2)
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:  # the client went away
                pass

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(trickler, tmp_path, where):
    started = time.monotonic()
    with pytest.raises(CsbenchError, match=r"could not be downloaded from .* \(the download took longer than its "
                                           r"limit of 1 s\); hint$") as err:
        fetch_pinned(f"{trickler}/{where}", sha256_pin(b"x" * 1000), tmp_path / "w", "w", "hint", timeout_s=1)
    assert time.monotonic() - started < 3, "held past its deadline"
    assert "\n" not in str(err.value) and list(tmp_path.iterdir()) == []


def test_a_generators_downloads_share_one_deadline(trickler, tmp_path):
    gen = load_generator_file(write_generator(tmp_path, "{" + ", ".join(
        f"'w{i}.bin': ('{trickler}/short{i}', '{sha256_pin(bytes([i]) * 3)}')" for i in range(4)) + "}"))
    started = time.monotonic()
    with pytest.raises(CsbenchError, match=r"weight file w\d.bin .* took longer than its limit of [\d.]+ s"):
        fetch_generator_weights(gen, DownloadLimits(file_s=5, total_s=1.5))  # each takes 0.6 s or more
    assert time.monotonic() - started < 2.5
    assert 1 <= len(list((home() / "pinned").iterdir())) <= 2, "the first files were fetched, then time ran out"


def test_a_generators_downloads_share_one_size_cap(server, tmp_path):
    for i in range(2):
        server.files[f"/w{i}"] = bytes([i]) * 600
    gen = load_generator_file(write_generator(tmp_path, "{" + ", ".join(
        f"'w{i}.bin': ('{server.url}/w{i}', '{sha256_pin(bytes([i]) * 600)}')" for i in range(2)) + "}"))
    with pytest.raises(CsbenchError, match="w1.bin of generator weighted .* more than 400 bytes"):
        fetch_generator_weights(gen, DownloadLimits(file_bytes=1000, total_bytes=1000))
    assert [p.name for p in (home() / "pinned").iterdir()] == [f"sha256-{sha256_pin(bytes([0]) * 600).digest}"]


def test_one_file_declared_under_many_names_is_fetched_and_stored_once(server, tmp_path):
    server.files["/w.bin"] = b"\x80" + CONTENT
    pin = sha256_pin(b"\x80" + CONTENT)
    names = [f"w{i}.bin" for i in range(50)] + ["w.bin"]
    gen = load_generator_file(write_generator(tmp_path, "{" + ", ".join(
        f"'{name}': ('{server.url}/w.bin', '{pin}')" for name in names) + "}"))
    paths = fetch_generator_weights(gen)
    assert set(paths) == set(names) and set(paths.values()) == {pinned_path(pin)}
    assert server.hits == ["/w.bin"] and list((home() / "pinned").iterdir()) == [pinned_path(pin)]


HOSTILE_URL = "http://127.0.0.1:9/\x1b[32mPASS\x1b[0m[bold red]x[/]\n::error file=README.md::injected\u202e"


def test_escape_bytes_newlines_and_markup_in_a_url_are_cleaned_from_its_error(tmp_path):
    with pytest.raises(CsbenchError) as err:
        fetch_pinned(HOSTILE_URL, sha256_pin(CONTENT), tmp_path / "w", "weight file w", "hint")
    message = str(err.value)
    assert not any(c in message for c in "\x1b\n\u202e") and "[bold red]" not in message and "[/]" not in message
    assert "(bold red)x(/)" in message
    assert message == " ".join(message.split()), "one line"


def test_a_url_with_markup_does_not_crash_validate(tmp_path, capsys):
    from csbench.cli import main

    pin = sha256_pin(CONTENT)
    path = write_generator(tmp_path / "gen[/]", f"{{'w.bin': ({HOSTILE_URL!r}, '{pin}')}}")
    assert main(["validate", str(path), "--suite", "fashion-mnist", "--timeout", "60"]) == 1
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "Traceback" not in out.err
    assert "FAIL weight files match their pins: weight file w.bin of generator weighted" in " ".join(out.err.split())


@pytest.mark.parametrize("compressed", [False, True])
def test_weights_that_are_a_dataset_file_are_refused(server, tmp_path, monkeypatch, compressed):
    data = tmp_path / "data"
    write_fashion_mnist(data / "FashionMNIST" / "raw", gz=True)
    monkeypatch.setenv("CSBENCH_DATA", str(data))
    gz = data / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    server.files["/w.bin"] = gz.read_bytes() if compressed else gzip.decompress(gz.read_bytes())
    pin = sha256_pin(server.files["/w.bin"])
    gen = load_generator_file(write_generator(tmp_path / "gen", f"{{'w.bin': ('{server.url}/w.bin', '{pin}')}}"))
    with pytest.raises(GeneratorError, match=r"^weight file w.bin of generator weighted is a copy of the dataset "
                                             r"file .*t10k-images-idx3-ubyte.gz: a generator may not be handed"):
        fetch_generator_weights(gen)


def test_weights_built_from_what_the_file_read_are_refused_before_any_request(tmp_path):
    from csbench.sandbox import describe

    shutil.copy(Path(__file__).parent / "hostile" / "url_from_what_it_read.py", tmp_path)
    with pytest.raises(GeneratorError, match=r"^generator file url_from_what_it_read.py declares weights that are "
                                             r"not literal \(line \d+\)"):
        describe(tmp_path / "url_from_what_it_read.py", Limits(timeout_s=60, memory_mib=2048))


def test_weights_are_not_refused_as_their_own_copy_where_the_data_folder_holds_the_cache(server, monkeypatch,
                                                                                      tmp_path):
    monkeypatch.setenv("CSBENCH_DATA", str(home()))
    server.files["/w.bin"] = b"\x80" + CONTENT
    pin = sha256_pin(b"\x80" + CONTENT)
    gen = load_generator_file(write_generator(tmp_path, f"{{'w.bin': ('{server.url}/w.bin', '{pin}')}}"))
    assert fetch_generator_weights(gen) == {"w.bin": pinned_path(pin)}


def test_a_file_declared_under_many_names_is_granted_once_and_read_by_each(server, tmp_path):
    from csbench.sandbox import context, describe, sample

    server.files["/w.bin"] = b"\x80" + CONTENT
    pin = sha256_pin(b"\x80" + CONTENT)
    names = ["w.bin"] + [f"w{i}.bin" for i in range(200)]
    gen = describe(write_generator(tmp_path / "gen", "{" + ", ".join(
        f"'{name}': ('{server.url}/w.bin', '{pin}')" for name in names) + "}"), Limits(timeout_s=60, memory_mib=2048))
    ctx = context(gen, "fashion-mnist", (1, 2, 2), 10)
    assert len(ctx.weights) == len(names) and set(ctx.weights.values()) == {pinned_path(pin)}
    pixels = sample(gen, ctx, 2, 0, Limits(timeout_s=60, memory_mib=2048))
    assert pixels.unique().item() == pytest.approx(128 / 255) and server.hits == ["/w.bin"]


@pytest.mark.parametrize("name", ["authors_acgan.py", "authors_acgan_inferior.py"])
def test_the_committed_declarations_read_from_source_are_what_the_files_register(name):
    from conftest import GENERATORS as FOLDER

    from csbench.generators import declared_weights

    path = FOLDER / "cifar10" / name
    static = declared_weights(path)
    assert len(static) == 1 and static == load_generator_file(path).weights
