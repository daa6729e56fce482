import json
import pathlib

import numpy as np
import pytest
import torch

from p2m_model.synthesis.dataset import SyntheticBodyDataset, SyntheticViewConfig, shard_paths

SHARDS = pathlib.Path(__file__).parents[1] / "data" / "synth"


def _vertex_selection_regressor(vertex_count, seed):
    """(17, V) regressor averaging 4 fixed vertices per joint; the reader's geometry
    (root-relative outputs, rigid view changes) holds for any regressor."""
    rng = np.random.default_rng(seed)
    regressor = np.zeros((17, vertex_count), dtype=np.float32)
    for joint in range(17):
        regressor[joint, rng.choice(vertex_count, size=4, replace=False)] = 0.25
    return regressor


def _dataset(split="train", fixed_views=False, seed=0, view_split=None):
    vertex_count = json.loads((SHARDS / "manifest.json").read_text())["vertex_count"]
    return SyntheticBodyDataset(
        shard_paths(SHARDS, split),
        _vertex_selection_regressor(vertex_count, 1),
        _vertex_selection_regressor(vertex_count, 2),
        SyntheticViewConfig(fixed_views=fixed_views, seed=seed, split=view_split or split),
    )


def test_items_have_documented_shapes():
    dataset = _dataset()
    assert len(dataset) == 24
    item = dataset[0]
    vertex_count = dataset.vertices.shape[1]
    expected = {
        "keypoints": (17, 2), "scores": (17,), "keypoints_exact": (17, 2), "image_size": (2,), "focal_px": (),
        "principal_point_px": (2,), "root_camera": (3,), "pose3d_coco": (17, 3), "joints_h36m": (17, 3),
        "vertices": (vertex_count, 3),
    }
    assert {k: tuple(v.shape) for k, v in item.items()} == expected
    assert all(v.dtype == torch.float32 for v in item.values())


def test_outputs_are_root_relative_and_body_sized():
    item = _dataset()[3]
    pelvis = item["pose3d_coco"][[11, 12]].mean(dim=0)
    torch.testing.assert_close(pelvis, torch.zeros(3), atol=1e-5, rtol=0)
    extent = item["vertices"].max(dim=0).values - item["vertices"].min(dim=0).values
    assert 0.5 < float(extent.max()) < 2.5  # metres: a child or an adult
    assert float(item["root_camera"][2]) >= 2.0


def test_view_changes_keep_bone_lengths():
    dataset = _dataset()
    first, second = dataset[5], dataset[5]  # two random views of one body
    assert not torch.allclose(first["vertices"], second["vertices"])
    for key in ("pose3d_coco", "vertices"):
        a, b = first[key], second[key]
        distances_a = (a[:50, None] - a[None, :50]).norm(dim=-1)
        distances_b = (b[:50, None] - b[None, :50]).norm(dim=-1)
        torch.testing.assert_close(distances_a, distances_b, atol=1e-4, rtol=0)


def test_fixed_views_depend_only_on_seed_and_index():
    a, b = _dataset("test", True, seed=3), _dataset("test", True, seed=3)
    for index in (0, 7):
        for key, value in a[index].items():
            torch.testing.assert_close(value, b[index][key])
    assert not torch.equal(a[0]["keypoints"], _dataset("test", True, seed=4)[0]["keypoints"])


def test_validation_and_test_views_differ_at_the_same_seed():
    as_val, as_test = _dataset("test", True, seed=0, view_split="val"), _dataset("test", True, seed=0)
    assert not torch.equal(as_val[0]["keypoints"], as_test[0]["keypoints"])
    assert not torch.equal(as_val[0]["root_camera"], as_test[0]["root_camera"])


def test_exact_keypoints_are_projections_of_the_3d_pose():
    item = _dataset()[2]
    camera_points = item["pose3d_coco"] + item["root_camera"]
    projected = item["focal_px"] * camera_points[:, :2] / camera_points[:, 2:] + item["principal_point_px"]
    torch.testing.assert_close(projected, item["keypoints_exact"], atol=1e-3, rtol=0)


def test_missing_inputs_are_named():
    with pytest.raises(FileNotFoundError, match="manifest"):
        shard_paths(SHARDS / "nowhere", "train")
    with pytest.raises(ValueError, match="split"):
        shard_paths(SHARDS, "val")
    with pytest.raises(ValueError, match="coco17_regressor"):
        SyntheticBodyDataset(shard_paths(SHARDS, "train"), np.zeros((17, 5)), np.zeros((17, 5)), SyntheticViewConfig())
