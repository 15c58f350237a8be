"""Data loading from the real CIFAR-10 JPEG copy, the held-out set, augmentation, bad sources."""
import shutil
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from selcore.engine.data import CLASSES, DataError, DeviceData, first_per_class, held_out_indices, load_cifar10


def test_tar_source_gives_cifar10_shapes_and_statistics(cifar):
    assert cifar.train_x.shape == (50000, 3, 32, 32) and cifar.train_x.dtype == torch.uint8
    assert cifar.test_x.shape == (10000, 3, 32, 32)
    assert cifar.classes == CLASSES
    assert torch.bincount(cifar.train_y).tolist() == [5000] * 10
    assert torch.bincount(cifar.test_y).tolist() == [1000] * 10
    mean = cifar.train_x.float().mean((0, 2, 3)) / 255
    assert mean.tolist() == pytest.approx([0.4913, 0.4821, 0.4465], abs=2e-4)  # the data README's figures
    assert cifar.train_y[:10].tolist() == list(range(10))  # classes interleaved: any prefix mixes them


FEW = ("0000.jpg", "0001.jpg", "0002.jpg")


@pytest.fixture(scope="module")
def few(tmp_path_factory, data_tar):
    """Real images extracted in one pass over the archive: ``tree``, the first three images of every class and
    split (a small image-folder tree, never committed), and ``extra``, the held-out set's 100th cat."""
    out = tmp_path_factory.mktemp("few")
    with tarfile.open(data_tar) as tf:
        for m in tf:
            if m.isfile() and m.name.rsplit("/", 1)[-1] in FEW:
                tf.extract(m, out / "tree", filter="data")
            elif m.isfile() and m.name.endswith("test/cat/0099.jpg"):
                tf.extract(m, out / "extra", filter="data")
    root = next(p for p in (out / "tree").rglob("train")).parent
    return {"tree": root, "extra": out / "extra"}


def _member(few, name):
    """The pixels of the extracted archive member whose path ends with ``name``."""
    path = next(p for folder in few.values() for p in sorted(folder.rglob("*.jpg")) if p.as_posix().endswith(name))
    return np.asarray(Image.open(path).convert("RGB"))


def _subtree(few, dest, keep):
    """A copy of the extracted tree holding only the files for which ``keep(path)`` is true; its root."""
    for f in few["tree"].rglob("*.jpg"):
        if keep(f):
            (dest / f.relative_to(few["tree"])).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dest / f.relative_to(few["tree"]))
    return dest


def test_held_out_is_first_100_test_images_of_each_class(cifar, few):
    idx = held_out_indices(cifar.test_y, 100)
    assert len(idx) == 1000
    assert torch.bincount(cifar.test_y[idx]).tolist() == [100] * 10
    for c in range(10):  # exactly the first 100 occurrences of class c in dataset order
        assert torch.equal(idx[cifar.test_y[idx] == c], torch.nonzero(cifar.test_y == c).flatten()[:100])
    # the 100th cat of the held-out set is test/cat/0099.jpg, the 101st is not in it
    cats = torch.nonzero(cifar.test_y == 3).flatten()
    assert np.array_equal(cifar.test_x[cats[99]].permute(1, 2, 0).numpy(), _member(few, "test/cat/0099.jpg"))
    assert cats[100] not in idx


def test_folder_tree_source_matches_tar(tmp_path, few):
    # a small real tree: 3 images per class and split, extracted from the archive (never committed)
    root = few["tree"]
    d = load_cifar10(str(root), cache=str(tmp_path / "cache"))
    assert d.train_x.shape == (30, 3, 32, 32) and d.test_x.shape == (30, 3, 32, 32)
    assert d.train_y.tolist() == list(range(10)) * 3
    assert np.array_equal(d.train_x[3].permute(1, 2, 0).numpy(), _member(few, "train/cat/0000.jpg"))
    # the cache is used on the second call
    assert len(list((tmp_path / "cache").glob("cifar10-*.pt"))) == 1
    assert torch.equal(load_cifar10(str(root), cache=str(tmp_path / "cache")).train_x, d.train_x)


def test_subsets_keep_dataset_order(cifar):
    dd = DeviceData(cifar, torch.device("cpu"), train_per_class=7, held_out_per_class=3, test_per_class=5)
    assert torch.bincount(dd.train_y).tolist() == [7] * 10
    assert len(dd.test_y) == 50 and len(dd.held_out) == 30
    assert torch.equal(first_per_class(cifar.train_y, 7), torch.sort(first_per_class(cifar.train_y, 7)).values)


def test_augmentation_is_a_padded_crop_with_optional_flip(cifar):
    dd = DeviceData(cifar, torch.device("cpu"), train_per_class=2)
    gen = torch.Generator().manual_seed(0)
    idx = torch.arange(8)
    out = dd.augment(idx, gen)
    assert out.shape == (8, 3, 32, 32) and out.dtype == torch.float32
    pixels = torch.round((out * dd.std + dd.mean) * 255)
    padded = torch.nn.functional.pad(dd.train_x[idx], (4, 4, 4, 4)).float()
    flips = 0
    for i in range(8):
        matches = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (0, 1)
                   if torch.equal((padded[i, :, dy:dy + 32, dx:dx + 32].flip(2) if f else
                                   padded[i, :, dy:dy + 32, dx:dx + 32]), pixels[i])]
        assert matches, f"augmented image {i} is no crop of its padded original"
        flips += matches[0][2]
    assert 0 < flips < 8  # p = 0.5 over 8 images (seed fixed)


def test_test_images_are_normalised_with_cifar_statistics(cifar):
    dd = DeviceData(cifar, torch.device("cpu"), train_per_class=1)
    m = dd.test_x.mean((0, 2, 3))
    assert m.abs().max() < 0.02  # (x - mean) / std with mean ~ the data's own


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(str(tmp_path / "nope.tar.gz"), cache=str(tmp_path))


def test_truncated_archive_is_a_clear_error(tmp_path, data_tar):
    bad = tmp_path / "cut.tar.gz"
    bad.write_bytes(data_tar.read_bytes()[:2_000_000])
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_cifar10(str(bad), cache=str(tmp_path / "c"))


def test_tree_without_ten_classes_is_a_clear_error(tmp_path, few):
    root = _subtree(few, tmp_path / "t", lambda f: f.name == "0000.jpg" and f.parent.name != "truck")
    with pytest.raises(DataError, match="9 class folders"):
        load_cifar10(str(root), cache=str(tmp_path / "c"))


def test_undecodable_image_is_a_clear_error(tmp_path, few):
    root = _subtree(few, tmp_path / "t", lambda f: f.name == "0000.jpg")
    (root / "train" / "cat" / "0000.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="cannot be decoded"):
        load_cifar10(str(root), cache=str(tmp_path / "c"))
