"""CIFAR-10 as uint8 tensors: two sources behind one call, a disk cache, augmentation on the device.

Sources
-------
* ``"torchvision"``: ``torchvision.datasets.CIFAR10(download=True)`` (for users who are online).
* a path to an image-folder tree ``train/<class>/*.jpg|png``, ``test/<class>/*`` or a ``.tar``/``.tar.gz``
  of one (this project's JPEG copy of CIFAR-10). Class ids are the sorted folder names; within a
  class, files are taken in sorted-name order, which is the original CIFAR-10 order for the JPEG copy;
  the classes are then interleaved (one image of each class in turn) so that the first images of the
  set mix all classes, as in the original batches (the calibration batch is "the first 128").

The decoded tensors are cached once per source (keyed on its path, size and mtime) so that later
runs start in a second. The environment variable ``SELCORE_DATA`` names the default source.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..paths import default_source

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class DataError(RuntimeError):
    """The data source is missing, unreadable or not CIFAR-10 shaped (one-line message)."""


@dataclass
class CIFAR10:
    """The whole data set as uint8 NCHW tensors (CPU) with int64 labels."""
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple
    source: str

    def describe(self) -> str:
        return (f"CIFAR-10 from {self.source}: {len(self.train_y)} train / {len(self.test_y)} test images, "
                f"{len(self.classes)} classes")


def cache_dir(path: str = "") -> Path:
    return Path(path or os.environ.get("SELCORE_CACHE") or Path.home() / ".cache" / "selcore")


def load_cifar10(source: str | None = None, cache: str = "") -> CIFAR10:
    """Load CIFAR-10 from ``source`` (see module doc), decoding once into a cached tensor file."""
    source = source or default_source()
    if source == "torchvision":
        root = cache_dir(cache) / "torchvision"
        return _from_torchvision(root)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"data source {source!r} does not exist: give an image-folder tree, a .tar/.tar.gz "
                        f"of one, or 'torchvision'")
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:16]
    cached = cache_dir(cache) / f"cifar10-{key}.pt"
    if cached.exists():
        try:
            d = torch.load(cached, weights_only=True)
            return CIFAR10(d["train_x"], d["train_y"], d["test_x"], d["test_y"], tuple(d["classes"]),
                           source=path.name)
        except Exception:  # a damaged cache is rebuilt, never trusted
            cached.unlink(missing_ok=True)
    if path.is_dir():
        files = _scan_tree(path)
    elif tarfile.is_tarfile(path):
        files = _scan_tar(path)
    else:
        raise DataError(f"data source {source!r} is neither a folder nor a readable .tar/.tar.gz archive")
    data = _decode(files, path.name)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".pt.{os.getpid()}.tmp")  # concurrent jobs never share one
    torch.save({"train_x": data.train_x, "train_y": data.train_y, "test_x": data.test_x,
                "test_y": data.test_y, "classes": list(data.classes)}, tmp)
    os.replace(tmp, cached)
    return data


def _from_torchvision(root: Path) -> CIFAR10:
    import torchvision  # heavy (seconds beside torch), and only the download source needs it
    try:
        tr = torchvision.datasets.CIFAR10(str(root), train=True, download=True)
        te = torchvision.datasets.CIFAR10(str(root), train=False, download=True)
    except Exception as e:  # no network, broken download ...
        raise DataError(f"torchvision could not download CIFAR-10 ({type(e).__name__}); pass a local "
                        f"image-folder tree or tar with --data PATH (or set SELCORE_DATA)") from None
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).contiguous()
    return CIFAR10(to_t(tr.data), torch.tensor(tr.targets), to_t(te.data), torch.tensor(te.targets),
                   tuple(tr.classes), source="torchvision CIFAR-10")


def _split_member(parts: tuple[str, ...]):
    """('...', 'train', 'cat', '0001.jpg') -> ('train', 'cat', '0001.jpg') or None."""
    if len(parts) >= 3 and parts[-3] in ("train", "test") and parts[-1].lower().endswith(IMAGE_SUFFIXES):
        return parts[-3], parts[-2], parts[-1]
    return None


def _scan_tree(root: Path):
    out = {}
    for p in root.rglob("*"):
        key = _split_member(p.relative_to(root).parts)
        if key and p.is_file():
            out[key] = p.read_bytes
    return out


def _scan_tar(path: Path):
    out = {}
    try:
        with tarfile.open(path) as tf:
            for m in tf:
                key = _split_member(tuple(Path(m.name).parts))
                if key and m.isfile():
                    blob = tf.extractfile(m).read()
                    out[key] = (lambda b=blob: b)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"data archive {path.name} is corrupt or truncated ({e})") from None
    return out


def _decode(files: dict, name: str) -> CIFAR10:
    classes = sorted({c for (_, c, _) in files})
    for split in ("train", "test"):
        got = sorted({c for (s, c, _) in files if s == split})
        if len(got) != 10:
            raise DataError(f"data source {name}: {split}/ holds {len(got)} class folders, CIFAR-10 needs 10")
    if len(classes) != 10:
        raise DataError(f"data source {name}: {len(classes)} class folders in all, CIFAR-10 needs 10")
    cid = {c: i for i, c in enumerate(classes)}
    result = {}
    for split in ("train", "test"):
        # class-interleaved order (c0[0], c1[0], ..., c9[0], c0[1], ...): like the original CIFAR-10
        # batches, any prefix of the set (the calibration batch, a subset) mixes all classes
        per_class = [sorted(k for k in files if k[0] == split and k[1] == c) for c in classes]
        keys = [k for rank in zip(*per_class) for k in rank] if len({len(p) for p in per_class}) == 1 else \
            sorted((k for k in files if k[0] == split), key=lambda k: (k[2], cid[k[1]]))
        xs = np.empty((len(keys), 32, 32, 3), np.uint8)
        for i, k in enumerate(keys):
            try:
                img = Image.open(io.BytesIO(files[k]())).convert("RGB")
            except Exception:
                raise DataError(f"data source {name}: image {'/'.join(k)} cannot be decoded") from None
            if img.size != (32, 32):
                raise DataError(f"data source {name}: image {'/'.join(k)} is {img.size[0]}x{img.size[1]}, "
                                f"CIFAR-10 images are 32x32")
            xs[i] = np.asarray(img)
        result[split] = (torch.from_numpy(xs).permute(0, 3, 1, 2).contiguous(),
                         torch.tensor([cid[k[1]] for k in keys], dtype=torch.int64))
    return CIFAR10(*result["train"], *result["test"], tuple(classes), source=name)


# ---------------------------------------------------------------------------------------------
def first_per_class(y: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the first ``n`` items of each class, returned in dataset order."""
    return per_class_range(y, 0, n)


def per_class_range(y: torch.Tensor, start: int, stop: int | None = None) -> torch.Tensor:
    """Indices of the items ``start`` .. ``stop - 1`` (to the end: None) of each class, in dataset order: e.g.
    ``start=500`` is every image the reduced profiles, which use each class's first 500, leave out."""
    idx = [torch.nonzero(y == c).flatten()[start:stop] for c in range(int(y.max()) + 1)]
    return torch.sort(torch.cat(idx)).values


def held_out_indices(test_y: torch.Tensor, per_class: int = 100) -> torch.Tensor:
    """The held-out set: the first ``per_class`` test images of each class in dataset order."""
    return first_per_class(test_y, per_class)


class DeviceData:
    """The data set on the training device, with GPU-style augmentation and normalisation.

    Training images stay uint8 on the device; each batch is augmented there (random crop 32 with
    zero padding 4, horizontal flip p=0.5) and normalised with the CIFAR-10 mean/std. Test images
    are normalised once.
    """

    def __init__(self, data: CIFAR10, device: torch.device, train_per_class: int = 0,
                 held_out_per_class: int = 100, test_per_class: int = 0, train_skip_per_class: int = 0):
        """``train_per_class`` images of each class (0: all) after its first ``train_skip_per_class``."""
        self.device = device
        self.classes = data.classes
        self.source = data.source
        tr = per_class_range(data.train_y, train_skip_per_class,
                             train_skip_per_class + train_per_class if train_per_class else None)
        self.train_x = data.train_x[tr].to(device)
        self.train_y = data.train_y[tr].to(device)
        self.mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
        te = first_per_class(data.test_y, test_per_class) if test_per_class else torch.arange(len(data.test_y))
        self.test_x = self.normalize(data.test_x[te].to(device))
        self.test_y = data.test_y[te].to(device)
        self.held_out = held_out_indices(data.test_y[te], held_out_per_class).to(device)

    def __len__(self):
        return len(self.train_y)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def normalize(self, x_uint8: torch.Tensor) -> torch.Tensor:
        return (x_uint8.float().div_(255) - self.mean) / self.std

    def train_eval_batch(self, idx: torch.Tensor) -> torch.Tensor:
        """Training images at ``idx``, normalised, not augmented (scoring, calibration)."""
        return self.normalize(self.train_x[idx])

    def augment(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Augmented, normalised training batch for indices ``idx`` (random crop + flip on the device)."""
        x = self.train_x[idx]
        b = x.shape[0]
        padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
        dy = torch.randint(0, 9, (b,), device=x.device, generator=gen)
        dx = torch.randint(0, 9, (b,), device=x.device, generator=gen)
        ar = torch.arange(32, device=x.device)
        rows = (dy[:, None] + ar)[:, None, :, None]
        cols = (dx[:, None] + ar)[:, None, None, :]
        chans = torch.arange(3, device=x.device)[None, :, None, None]
        x = padded[torch.arange(b, device=x.device)[:, None, None, None], chans, rows, cols]
        flip = torch.rand(b, device=x.device, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return self.normalize(x)
