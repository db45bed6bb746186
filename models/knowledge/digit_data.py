"""Handwritten digits for the knowledge world: MNIST from its four standard IDX files, or scikit-learn's 8x8 digits.

The knowledge world's data set is one of its parameters (as a landscape is the SGD world's), so this reader lives
beside the model: `scenario.build()`, the browser page and the claims all get the same bytes. Nothing is ever
downloaded: MNIST is read from a directory the user names (`data_dir` in a scenario, or `--data-dir`), and the
default data set, scikit-learn's bundled digits, ships inside scikit-learn.

IDX (LeCun et al.): a big-endian header of 4 bytes of magic (0x00000803 for images, 0x00000801 for labels: two zero
bytes, 0x08 for unsigned bytes, then the number of dimensions), one uint32 per dimension, then the bytes.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import WorldError

IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
MNIST_FILES = {  # part -> the standard stem; either spelling ('train-images-idx3-ubyte' or '.idx3-'), .gz or not
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class DataError(WorldError):
    """A data set that cannot be read: the message names the file and what was expected."""


@dataclass(frozen=True)
class DigitData:
    """Images as uint8 levels (N, side * side), labels 0-9, and the value each level stands for.

    `pixel_values[level]` is the network's input: (level + 1) / (max_level + 1), so [1/256, 1] for MNIST as in
    "Knowledge Localization: Tentatively Positive Results on OCR" ("normalized to be between 1/256 and 1"),
    [1/17, 1] for the 8x8 digits (levels 0-16).
    """

    name: str
    train_pixels: np.ndarray
    train_labels: np.ndarray
    test_pixels: np.ndarray
    test_labels: np.ndarray
    side: int
    max_level: int

    @property
    def pixel_values(self) -> np.ndarray:
        return (np.arange(256, dtype=np.float64) + 1.0) / (self.max_level + 1.0)

    @property
    def n_inputs(self) -> int:
        return self.side * self.side


def _find(directory: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory}: missing {stem}[.gz] (or {dotted}[.gz]); expected the four standard MNIST IDX "
                    f"files: {', '.join(MNIST_FILES.values())}")


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The array in one IDX file (gzipped or not), checking its magic number and that its size matches its header."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, shorter than the 4-byte magic number")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"{path}: wrong magic number 0x{found:08x}; expected 0x{magic:08x} "
                        f"({'images' if magic == IMAGES_MAGIC else 'labels'} of unsigned bytes)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, shorter than its {header}-byte header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "too long"
        raise DataError(f"{path}: {what}: {len(raw)} bytes; expected {expected} for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _pair(directory: Path, images_stem: str, labels_stem: str) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = _find(directory, images_stem), _find(directory, labels_stem)
    images, labels = read_idx(images_path, IMAGES_MAGIC), read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{images_path.name} has {len(images)} images but {labels_path.name} has {len(labels)} "
                        "labels; expected the same count")
    if images.shape[1] != images.shape[2]:
        raise DataError(f"{images_path}: expected square images, got {images.shape[1]}x{images.shape[2]}")
    if len(labels) and labels.max() > 9:
        raise DataError(f"{labels_path}: expected labels 0-9, found {int(labels.max())}")
    return np.ascontiguousarray(images.reshape(len(images), -1)), labels.astype(np.int64)


@functools.lru_cache(maxsize=2)
def _mnist_cached(directory: str, stamp: tuple[float, ...]) -> DigitData:
    path = Path(directory)
    train = _pair(path, MNIST_FILES["train_images"], MNIST_FILES["train_labels"])
    test = _pair(path, MNIST_FILES["test_images"], MNIST_FILES["test_labels"])
    side = round(float(np.sqrt(train[0].shape[1])))
    if test[0].shape[1] != train[0].shape[1]:
        raise DataError(f"{path}: training images have {train[0].shape[1]} pixels, test images "
                        f"{test[0].shape[1]}; expected the same size")
    return DigitData("mnist", *train, *test, side=side, max_level=255)


def load_mnist(directory: str | Path) -> DigitData:
    """MNIST from a directory holding the four standard IDX files (cached per directory and file times)."""
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise DataError(f"{path}: not a directory; expected a directory holding the four standard MNIST IDX files")
    files = [_find(path, stem) for stem in MNIST_FILES.values()]
    return _mnist_cached(str(path.resolve()), tuple(f.stat().st_mtime for f in files))


@functools.lru_cache(maxsize=1)
def load_digits() -> DigitData:
    """scikit-learn's bundled 8x8 digits (1797 images, levels 0-16): the first 1437 to train on, the last 360 to
    test."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    pixels = np.ascontiguousarray(bunch.data.astype(np.uint8))
    labels = bunch.target.astype(np.int64)
    split = 1437
    return DigitData("digits", pixels[:split], labels[:split], pixels[split:], labels[split:], side=8, max_level=16)
