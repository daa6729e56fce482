"""SMPL-format model files -> body-model asset, on the SMPL-format Anny rig shipped with p2m.

The rig (p2m_model/assets/anny-v1-rig.npz) keeps Anny's vertex order, so the asset built
from it can be compared with the shipped Anny asset vertex for vertex.
"""
from __future__ import annotations

import importlib.resources
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse

pytest.importorskip("smplx", reason="smplx is needed to pose SMPL files (requirements: smplx)")

from p2m_model.asset_builders.smpl import SMPL_KEYS, build_smpl_asset, load_smpl_arrays  # noqa: E402
from p2m_model.body.asset import BodyModelAsset  # noqa: E402
from p2m_model.body.skeletons import COCO17_JOINT_NAMES, H36M17_JOINT_NAMES  # noqa: E402

RIG = importlib.resources.files("p2m_model") / "assets" / "anny-v1-rig.npz"


@pytest.fixture(scope="module")
def rig_path():
    if not RIG.is_file():
        pytest.skip("the Anny rig asset anny-v1-rig.npz is not in this checkout")
    with importlib.resources.as_file(RIG) as path:
        yield path


@pytest.fixture(scope="module")
def smpl_asset(rig_path) -> BodyModelAsset:
    return build_smpl_asset(rig_path)


@pytest.fixture(scope="module")
def anny_asset() -> BodyModelAsset:
    return BodyModelAsset.load()


def test_asset_fields(smpl_asset, rig_path):
    with np.load(rig_path) as rig:
        vertex_count, faces = len(rig["v_template"]), rig["f"]
    assert smpl_asset.name == "smpl" and smpl_asset.version.startswith("smpl-")
    assert smpl_asset.num_vertices == vertex_count
    assert np.array_equal(smpl_asset.faces, faces)
    for regressor in (smpl_asset.coco17_regressor, smpl_asset.h36m17_regressor):
        assert (regressor >= 0).all()
        np.testing.assert_allclose(regressor.sum(axis=1), 1.0, atol=1e-5)
    assert smpl_asset.hierarchy.num_levels == 8
    assert smpl_asset.hierarchy.level_sizes[0] < 1.03 * vertex_count


def test_frame_and_root(smpl_asset):
    template = smpl_asset.template
    assert 1.5 < np.ptp(template[:, 1]) < 1.9
    coco = smpl_asset.coco17_regressor @ template
    np.testing.assert_allclose(coco[[11, 12]].mean(axis=0), 0.0, atol=1e-5)
    joint = dict(zip(H36M17_JOINT_NAMES, smpl_asset.h36m17_regressor @ template))
    assert joint["head"][1] < joint["neck"][1] < joint["pelvis"][1] < joint["right_ankle"][1]
    assert joint["nose"][2] < joint["pelvis"][2] - 0.05
    assert joint["left_wrist"][0] > 0 > joint["right_wrist"][0]


def test_joints_agree_with_the_anny_asset(smpl_asset, anny_asset):
    """Same body, two ways of defining joints: they should land within a few centimetres."""
    vertices = anny_asset.template
    coco_mm = 1000 * np.linalg.norm(
        (smpl_asset.coco17_regressor - anny_asset.coco17_regressor) @ vertices, axis=1)
    h36m_mm = 1000 * np.linalg.norm(
        (smpl_asset.h36m17_regressor - anny_asset.h36m17_regressor) @ vertices, axis=1)
    face = [COCO17_JOINT_NAMES.index(name) for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
    assert coco_mm[face].max() < 30.0, dict(zip(COCO17_JOINT_NAMES, coco_mm.round(1)))
    assert coco_mm.max() < 40.0  # body joints: the rig's joint centres vs COCO's annotation points
    assert h36m_mm.max() < 20.0, dict(zip(H36M17_JOINT_NAMES, h36m_mm.round(1)))


def test_chumpy_pickle_loads_without_chumpy(rig_path, tmp_path, monkeypatch):
    """A pickle naming chumpy classes and a scipy sparse J_regressor, as SMPL's own files do."""
    chumpy = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, value):
            self.x = value

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set()}

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    chumpy.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", chumpy)
    with np.load(rig_path) as rig:
        arrays = {key: rig[key] for key in SMPL_KEYS}
    content = {**arrays, "shapedirs": Ch(arrays["shapedirs"]), "v_template": Ch(arrays["v_template"]),
               "J_regressor": scipy.sparse.csc_matrix(arrays["J_regressor"])}
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(content, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    monkeypatch.delitem(sys.modules, "chumpy")
    loaded = load_smpl_arrays(path)
    for key in SMPL_KEYS:
        assert np.array_equal(loaded[key], arrays[key]), key


def test_bad_files(tmp_path, rig_path):
    with pytest.raises(FileNotFoundError, match="absent.pkl"):
        build_smpl_asset(tmp_path / "absent.pkl")
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x00not a pickle")
    with pytest.raises(ValueError, match="garbage.pkl"):
        load_smpl_arrays(garbage)
    with np.load(rig_path) as rig:
        incomplete = {key: rig[key] for key in SMPL_KEYS if key != "weights"}
    np.savez(tmp_path / "incomplete.npz", **incomplete)
    with pytest.raises(ValueError, match="incomplete.npz.*weights"):
        load_smpl_arrays(tmp_path / "incomplete.npz")
