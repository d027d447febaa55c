"""fashionlab.data.download: the download path, against a local HTTP server serving generated IDX archives; never
the internet."""

import dataclasses
import gzip
import hashlib
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fashionlab.common.errors import DataError, WriteError
from fashionlab.data.catalog import FASHION_MNIST, IdxFile
from fashionlab.data.download import fetch, locate_archives
from tests.conftest import idx_bytes, synthetic_dataset


class Server:
    """Serves `files`; `failures[name]` answers HTTP 500 that many times first; `corrupt` flips a byte."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.failures: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append(name)
                if server.failures.get(name, 0) > 0:
                    server.failures[name] -= 1
                    self.send_error(500, "Internal Server Error")
                    return
                if name not in server.files:
                    self.send_error(404, "Not Found")
                    return
                body = bytearray(server.files[name])
                if name in server.corrupt:
                    body[len(body) // 2] ^= 0xFF
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(bytes(body))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    server = Server()
    yield server
    server.close()


def _spec_for(server, arrays):
    """A dataset spec whose mirror is the local server and whose checksums match the generated files."""
    files = []
    for original in FASHION_MNIST.files:
        archive = gzip.compress(idx_bytes(arrays[original.name]), mtime=0)
        server.files[original.name] = archive
        files.append(
            IdxFile(
                original.name,
                original.kind,
                len(arrays[original.name]),
                hashlib.md5(archive).hexdigest(),
                hashlib.sha256(idx_bytes(arrays[original.name])).hexdigest(),
            )
        )
    return dataclasses.replace(
        FASHION_MNIST,
        mirrors=(server.url,),
        system_dir=None,
        train_images=files[0],
        train_labels=files[1],
        test_images=files[2],
        test_labels=files[3],
    )


def test_download_good_files_atomically(server, tmp_path):
    spec = _spec_for(server, synthetic_dataset())
    paths = locate_archives(spec, "auto", tmp_path / "cache", backoff=0)
    for file in spec.files:
        assert paths[file.name].read_bytes() == server.files[file.name]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(f.name for f in spec.files)


def test_cached_archive_is_reused_without_a_request(server, tmp_path):
    spec = _spec_for(server, synthetic_dataset())
    fetch(spec, spec.train_labels, tmp_path, backoff=0)
    server.requests.clear()
    fetch(spec, spec.train_labels, tmp_path, backoff=0)
    assert server.requests == []


def test_server_error_is_retried(server, tmp_path):
    spec = _spec_for(server, synthetic_dataset())
    server.failures[spec.train_labels.name] = 2
    path = fetch(spec, spec.train_labels, tmp_path, attempts=3, backoff=0)
    assert path.read_bytes() == server.files[spec.train_labels.name]
    assert server.requests.count(spec.train_labels.name) == 3


def test_persistent_server_error_fails_with_one_line_and_no_file(server, tmp_path):
    spec = _spec_for(server, synthetic_dataset())
    server.failures[spec.train_labels.name] = 99
    with pytest.raises(DataError) as info:
        fetch(spec, spec.train_labels, tmp_path, attempts=2, backoff=0)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / spec.train_labels.name}: download failed from every mirror")
    assert "HTTP 500" in message
    assert list(tmp_path.iterdir()) == []


def test_corrupt_download_is_rejected_and_not_kept(server, tmp_path):
    spec = _spec_for(server, synthetic_dataset())
    server.corrupt.add(spec.test_images.name)
    with pytest.raises(DataError, match=f"MD5 mismatch: expected {spec.test_images.gz_md5}, got"):
        fetch(spec, spec.test_images, tmp_path, attempts=2, backoff=0)
    assert list(tmp_path.iterdir()) == []


def test_second_mirror_is_used_when_the_first_fails(server, tmp_path):
    spec = _spec_for(server, synthetic_dataset())
    spec = dataclasses.replace(spec, mirrors=(server.url + "missing/", server.url))
    path = fetch(spec, spec.train_labels, tmp_path, attempts=1, backoff=0)
    assert path.read_bytes() == server.files[spec.train_labels.name]


def test_corrupt_cached_copy_is_downloaded_again(server, tmp_path):
    spec = _spec_for(server, synthetic_dataset())
    (tmp_path / spec.train_labels.name).write_bytes(b"partial")
    path = fetch(spec, spec.train_labels, tmp_path, backoff=0)
    assert path.read_bytes() == server.files[spec.train_labels.name]


def test_folder_source_and_missing_folder(tmp_path):
    arrays = synthetic_dataset()
    for name, array in arrays.items():
        (tmp_path / name).write_bytes(gzip.compress(idx_bytes(array)))
    paths = locate_archives(FASHION_MNIST, str(tmp_path), tmp_path / "unused")
    assert paths[FASHION_MNIST.test_labels.name] == tmp_path / FASHION_MNIST.test_labels.name
    with pytest.raises(
        DataError, match=r"nowhere: folder not found \(data.source: expected auto, download or a folder\)"
    ):
        locate_archives(FASHION_MNIST, str(tmp_path / "nowhere"), tmp_path)
    (tmp_path / FASHION_MNIST.test_labels.name).unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: file not found"):
        locate_archives(FASHION_MNIST, str(tmp_path), tmp_path)


def test_a_cache_folder_that_cannot_be_written_is_a_write_error_not_a_failed_download(server, tmp_path):
    """Tried for real where the immutable flag works: nothing is retried, nothing is left behind."""
    spec = _spec_for(server, synthetic_dataset())
    if subprocess.run(["chattr", "+i", str(tmp_path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here (needs root and a file system with the immutable flag)")
    try:
        with pytest.raises(WriteError) as info:
            fetch(spec, spec.train_labels, tmp_path, attempts=3, backoff=0)
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path)], check=True)
    target = tmp_path / spec.train_labels.name
    assert str(info.value) == f"{target}: cannot write: Operation not permitted; no output was replaced"
    assert info.value.exit_code == 74
    assert server.requests == [spec.train_labels.name]
    assert list(tmp_path.iterdir()) == []
