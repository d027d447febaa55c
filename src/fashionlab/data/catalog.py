"""What each dataset is made of, where it comes from, and the checksums that prove a file is the real one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class IdxFile:
    name: str  # file name, e.g. "train-images-idx3-ubyte.gz"
    kind: str  # "images" or "labels"
    count: int
    gz_md5: str  # the upstream archive, as published; checked on download
    # SHA-256 of the decompressed bytes. Debian recompressed Fashion-MNIST, so its .gz bytes differ from
    # upstream while the contents agree; this hash accepts both. None where it was never measured here.
    raw_sha256: str | None


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    class_names: tuple[str, ...]
    mirrors: tuple[str, ...]  # base URLs, tried in order
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    system_dir: Path | None  # a distribution package's folder, used by source "auto" when present

    @property
    def files(self) -> tuple[IdxFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    train_images=IdxFile(
        "train-images-idx3-ubyte.gz",
        "images",
        60_000,
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte.gz",
        "labels",
        60_000,
        "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte.gz",
        "images",
        10_000,
        "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        "labels",
        10_000,
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    system_dir=DEBIAN_FASHION_MNIST,
)

# MNIST is only downloaded; its archives are checked against the upstream MD5s, as its decompressed
# hashes were never measured on this project's machines.
MNIST = DatasetSpec(
    name="mnist",
    class_names=tuple(str(digit) for digit in range(10)),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    train_images=IdxFile("train-images-idx3-ubyte.gz", "images", 60_000, "f68b3c2dcbeaaa9fbdd348bbdeb94873", None),
    train_labels=IdxFile("train-labels-idx1-ubyte.gz", "labels", 60_000, "d53e105ee54ea40749a09fcbcd1e9432", None),
    test_images=IdxFile("t10k-images-idx3-ubyte.gz", "images", 10_000, "9fb629c4189551a2d022fa330f9573f3", None),
    test_labels=IdxFile("t10k-labels-idx1-ubyte.gz", "labels", 10_000, "ec29112dd5afa0611ce80d1b7f02629c", None),
    system_dir=None,
)

DATASETS = {spec.name: spec for spec in (FASHION_MNIST, MNIST)}
