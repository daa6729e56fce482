"""The shipped Anny asset and BodyModelAsset's file format."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from p2m_model.body.asset import BodyModelAsset, MeshHierarchy
from p2m_model.body.skeletons import COCO17_JOINT_NAMES, H36M17_JOINT_NAMES


@pytest.fixture(scope="module")
def asset() -> BodyModelAsset:
    return BodyModelAsset.load()


def test_shipped_asset_fields(asset):
    assert asset.name == "anny" and asset.version == "anny-v1"
    assert asset.num_vertices == 13718  # Anny's default topology, as the training data
    assert asset.faces.shape == (27420, 3) and asset.faces.dtype == np.int64
    assert asset.template.shape == (13718, 3) and asset.template.dtype == np.float32
    for regressor in (asset.coco17_regressor, asset.h36m17_regressor):
        assert regressor.shape == (17, 13718) and regressor.dtype == np.float32
        assert (regressor >= 0).all()
        np.testing.assert_allclose(regressor.sum(axis=1), 1.0, atol=1e-5)


def test_template_frame(asset):
    template = asset.template
    height_m = template[:, 1].max() - template[:, 1].min()
    assert 1.5 < height_m < 1.9
    coco = asset.coco17_regressor @ template
    h36m = asset.h36m17_regressor @ template
    hips = [COCO17_JOINT_NAMES.index("left_hip"), COCO17_JOINT_NAMES.index("right_hip")]
    np.testing.assert_allclose(coco[hips].mean(axis=0), 0.0, atol=1e-4)  # root = mid COCO hips
    joint = dict(zip(H36M17_JOINT_NAMES, h36m))
    assert joint["head"][1] < joint["neck"][1] < joint["pelvis"][1] < joint["left_ankle"][1]  # y down
    assert joint["nose"][2] < joint["pelvis"][2] - 0.05  # the person faces -z
    assert joint["left_shoulder"][0] > 0 > joint["right_shoulder"][0]  # x = subject's left
    assert np.linalg.norm(joint["pelvis"]) < 0.05


def test_save_load_round_trip(asset, tmp_path):
    path = asset.save(tmp_path / "copy.npz")
    loaded = BodyModelAsset.load(path)
    assert loaded.version == asset.version
    for field in ("faces", "template", "coco17_regressor", "h36m17_regressor"):
        assert np.array_equal(getattr(loaded, field), getattr(asset, field))
    assert np.array_equal(loaded.hierarchy.perm, asset.hierarchy.perm)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.hierarchy.level_edges, asset.hierarchy.level_edges))
    assert not list(tmp_path.glob(".*.tmp"))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        BodyModelAsset.load(tmp_path / "nothere.npz")


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="corrupt.npz"):
        BodyModelAsset.load(path)


def test_wrong_content_is_named(asset, tmp_path):
    with np.load(asset.save(tmp_path / "good.npz")) as data:
        arrays = dict(data)
    cases = {
        "missing": ({k: v for k, v in arrays.items() if k != "template"}, "template"),
        "version": ({**arrays, "format_version": np.int64(99)}, "format version 99"),
        "shape": ({**arrays, "h36m17_regressor": arrays["h36m17_regressor"][:16]}, "h36m17_regressor"),
        "faces": ({**arrays, "faces": arrays["faces"] + 20000}, "faces"),
        "perm": ({**arrays, "perm": np.zeros_like(arrays["perm"])}, "perm"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez_compressed(path, **content)
        with pytest.raises(ValueError, match=message) as error:
            BodyModelAsset.load(path)
        assert path.name in str(error.value)


def test_hierarchy_rejects_edges_on_fake_nodes():
    perm = np.array([0, 1, 2, -1])
    with pytest.raises(ValueError, match="fake"):
        MeshHierarchy(perm, (np.array([[0, 3]]), np.empty((0, 2))))


def test_padding_follows_device_and_dtype(asset):
    vertices = torch.from_numpy(asset.template).double()[None]
    padded = asset.hierarchy.to_padded(vertices)
    assert padded.dtype == torch.float64 and padded.shape == (1, asset.hierarchy.level_sizes[0], 3)
    assert torch.equal(asset.hierarchy.from_padded(padded), vertices)
    with pytest.raises(ValueError, match="vertices"):
        asset.hierarchy.to_padded(vertices[:, :-1])


def test_asset_is_immutable(asset):
    with pytest.raises(dataclasses.FrozenInstanceError):
        asset.version = "other"
