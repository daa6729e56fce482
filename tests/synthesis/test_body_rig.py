"""The synthetic people's rig: the shipped SMPL-format file, posed by numpy and by smplx."""

from __future__ import annotations

import numpy as np
import pytest

from p2m_model.body.rig import RIG_TO_FRONT_VIEW, BodyRig


@pytest.fixture(scope="module")
def rig() -> BodyRig:
    return BodyRig.load()


def random_pose(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    return {
        "betas": rng.normal(size=(count, 10)).astype(np.float32),
        "body_pose": (rng.normal(scale=0.3, size=(count, 23, 3))).astype(np.float32),
        "global_orient": rng.normal(scale=1.0, size=(count, 3)).astype(np.float32),
        "transl": rng.normal(size=(count, 3)).astype(np.float32),
    }


def test_rig_file_is_smpl_shaped(rig: BodyRig) -> None:
    assert rig.template.shape == (13718, 3)
    assert rig.faces.shape == (27420, 3)
    assert rig.shapedirs.shape == (13718, 3, 10)
    np.testing.assert_allclose(rig.weights.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(rig.joint_regressor.sum(axis=1), 1.0, atol=1e-5)
    assert (rig.joint_regressor >= 0).all()
    assert (rig.joint_regressor > 0).sum(axis=1).max() < 64  # sparse
    assert list(rig.parents[:4]) == [-1, 0, 0, 0]


def test_rest_body_is_upright_and_facing_forward(rig: BodyRig) -> None:
    joints = rig.rest_joints(np.zeros((1, 10)))[0]
    np.testing.assert_allclose(joints[0], 0.0, atol=0.01)  # pelvis at the origin
    height = rig.template[:, 1].max() - rig.template[:, 1].min()
    assert 1.5 < height < 1.8  # Anny's default body is about 1.63 m
    assert joints[15, 1] > joints[12, 1] > joints[0, 1] > joints[4, 1] > joints[7, 1]  # head over feet
    assert joints[1, 0] > 0 > joints[2, 0]  # left hip on +x
    assert joints[10, 2] > joints[7, 2]  # toes ahead of the ankle: faces +z
    front = joints @ RIG_TO_FRONT_VIEW.T
    assert front[15, 1] < front[0, 1]  # front view: head up is -y


def test_zero_pose_gives_the_shaped_rest_body(rig: BodyRig) -> None:
    betas = np.random.default_rng(1).normal(size=(2, 10)).astype(np.float32)
    zeros = np.zeros((2, 3), dtype=np.float32)
    output = rig.pose(betas, np.zeros((2, 23, 3)), zeros, zeros)
    np.testing.assert_allclose(output.joints, rig.rest_joints(betas), atol=1e-5)
    assert not np.allclose(output.vertices[0], output.vertices[1], atol=0.01)  # shapes differ


def test_pose_agrees_with_smplx(rig: BodyRig) -> None:
    smplx = pytest.importorskip("smplx")
    torch = pytest.importorskip("torch")
    from importlib.resources import as_file, files

    with as_file(files("p2m_model") / "assets" / "anny-v1-rig.npz") as path:
        model = smplx.SMPL(model_path=str(path), data_struct=smplx.utils.Struct(**np.load(path)))
    inputs = random_pose(np.random.default_rng(0), 3)
    with torch.no_grad():
        reference = model(
            betas=torch.from_numpy(inputs["betas"]),
            body_pose=torch.from_numpy(inputs["body_pose"].reshape(3, -1)),
            global_orient=torch.from_numpy(inputs["global_orient"]),
            transl=torch.from_numpy(inputs["transl"]),
        )
    output = rig.pose(**inputs)
    np.testing.assert_allclose(output.vertices, reference.vertices.numpy(), atol=1e-4)
    np.testing.assert_allclose(output.joints, reference.joints[:, :24].numpy(), atol=1e-4)


def test_bad_inputs_are_named(rig: BodyRig, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        BodyRig.load(tmp_path / "nowhere.npz")
    np.savez(tmp_path / "partial.npz", v_template=rig.template)
    with pytest.raises(ValueError, match="missing"):
        BodyRig.load(tmp_path / "partial.npz")
    with pytest.raises(ValueError, match="body_pose"):
        rig.pose(np.zeros((1, 10)), np.zeros((1, 24, 3)), np.zeros((1, 3)), np.zeros((1, 3)))
