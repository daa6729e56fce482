import numpy as np
import pytest

from p2m_model import Pose2MeshPredictor, PredictionResult
from p2m_model.body.skeletons import H36M17_JOINT_NAMES
from p2m_model.checkpoint import save_checkpoint
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.predictor import assumed_camera_matrix


def people(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    keypoints = rng.uniform([100, 50], [400, 450], size=(n, 17, 2))
    return keypoints, rng.uniform(0.3, 1.0, size=(n, 17))


@pytest.fixture
def predictor(tmp_path, toy_asset, make_config) -> Pose2MeshPredictor:
    model = Pose2MeshNet(make_config(), toy_asset.hierarchy)
    path = save_checkpoint(tmp_path / "model.safetensors", model, toy_asset.version)
    return Pose2MeshPredictor.from_checkpoint(path, asset=toy_asset, device="cpu")


def test_round_trip_outputs(predictor, toy_asset):
    keypoints, scores = people(3)
    out = predictor.predict(keypoints, scores, (640, 480))
    assert isinstance(out, PredictionResult)
    assert out.joints3d.shape == (3, 17, 3) and out.pose3d_coco.shape == (3, 17, 3)
    assert out.vertices.shape == (3, toy_asset.num_vertices, 3)
    assert np.array_equal(out.faces, toy_asset.faces)
    assert out.joint_names == H36M17_JOINT_NAMES
    assert all(isinstance(a, np.ndarray) for a in (out.joints3d, out.vertices, out.pose3d_coco))
    # Root = mid-point of the mesh's COCO hips.
    hips = np.einsum("jv,nvc->njc", toy_asset.coco17_regressor[[11, 12]], out.vertices)
    np.testing.assert_allclose(hips.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(
        out.joints3d, np.einsum("jv,nvc->njc", toy_asset.h36m17_regressor, out.vertices), atol=1e-5)



def test_prepared_input_gives_the_checked_path_results(predictor):
    """What the nodes call (prepare once, then *_prepared) equals predict / lift / recover_mesh."""
    keypoints, scores = people(3)
    inputs = predictor.prepare(keypoints, scores, assumed_camera_matrix((640, 480)))
    assert len(inputs) == 3 and inputs.normalized.shape == (3, 17, 2)
    full, prepared = predictor.predict(keypoints, scores, (640, 480)), predictor.predict_prepared(inputs)
    np.testing.assert_allclose(prepared.vertices, full.vertices, atol=1e-6)
    np.testing.assert_allclose(predictor.lift_prepared(inputs), full.pose3d_coco, atol=1e-6)
    mesh = predictor.recover_mesh_prepared(inputs, full.pose3d_coco)
    np.testing.assert_allclose(mesh.joints3d, full.joints3d, atol=1e-6)


def test_each_person_independent_of_image_placement(predictor):
    keypoints, scores = people(2)
    out = predictor.predict(keypoints, scores, (640, 480))
    shifted = predictor.predict(keypoints * 2 + 30, scores, (1280, 960))
    np.testing.assert_allclose(shifted.vertices, out.vertices, atol=1e-4)
    single = predictor.predict(keypoints[1:], scores[1:], (640, 480))
    np.testing.assert_allclose(single.vertices[0], out.vertices[1], atol=1e-4)


@pytest.mark.parametrize("mutate, message", [
    (lambda k, s: (k[:, :16], s), "keypoints must have shape"),
    (lambda k, s: (k, s[:, :16]), "scores must have shape"),
    (lambda k, s: (k[:0], s[:0]), "empty batch"),
    (lambda k, s: (np.where(np.arange(3)[:, None, None] == 1, np.nan, k), s), r"NaN or inf.*\[1\]"),
    (lambda k, s: (np.where(np.arange(3)[:, None, None] == 2, np.inf, k), s), r"NaN or inf.*\[2\]"),
    (lambda k, s: (k, s * 2), r"outside \[0, 1\]"),
    (lambda k, s: (k, np.where(np.arange(3)[:, None] == 0, 0.0, s)), r"threshold.*\[0\]"),
])
def test_bad_inputs_raise(predictor, mutate, message):
    keypoints, scores = mutate(*people(3))
    with pytest.raises(ValueError, match=message):
        predictor.predict(keypoints, scores, (640, 480))


def test_bad_image_size(predictor):
    with pytest.raises(ValueError, match="image_size"):
        predictor.predict(*people(1), (0, 480))


def test_asset_version_mismatch_refused(tmp_path, toy_asset, make_config):
    path = save_checkpoint(tmp_path / "m.safetensors",
                           Pose2MeshNet(make_config(), toy_asset.hierarchy), "anny-v0")
    with pytest.raises(ValueError, match="anny-v0"):
        Pose2MeshPredictor.from_checkpoint(path, asset=toy_asset, device="cpu")


def test_fresh_model_constructor(toy_asset, make_config):
    predictor = Pose2MeshPredictor(Pose2MeshNet(make_config(), toy_asset.hierarchy), toy_asset, "auto")
    assert predictor.predict(*people(1), (640, 480)).vertices.shape == (1, 48, 3)


def test_missing_checkpoint_path(tmp_path, toy_asset):
    with pytest.raises(FileNotFoundError):
        Pose2MeshPredictor.from_checkpoint(tmp_path / "nope.safetensors", asset=toy_asset)


def test_no_shipped_checkpoint_message(toy_asset):
    from p2m_model.predictor import default_checkpoint_path

    try:
        path = default_checkpoint_path()
    except FileNotFoundError as error:
        assert "no shipped checkpoint" in str(error) and "from_checkpoint(" in str(error)
    else:
        assert path.is_file()


def test_lift_then_recover_mesh_equals_predict(predictor):
    keypoints, scores = people(2)
    full = predictor.predict(keypoints, scores, (640, 480))
    pose3d = predictor.lift(keypoints, scores, (640, 480))
    assert pose3d.shape == (2, 17, 3)
    np.testing.assert_allclose(pose3d, full.pose3d_coco, atol=1e-6)
    split = predictor.recover_mesh(keypoints, scores, (640, 480), pose3d)
    np.testing.assert_allclose(split.vertices, full.vertices, atol=1e-6)
    np.testing.assert_allclose(split.joints3d, full.joints3d, atol=1e-6)


def test_recover_mesh_uses_the_given_pose(predictor):
    keypoints, scores = people(1)
    pose3d = predictor.lift(keypoints, scores, (640, 480))
    moved = predictor.recover_mesh(keypoints, scores, (640, 480), pose3d + 0.3)
    same = predictor.recover_mesh(keypoints, scores, (640, 480), pose3d)
    assert not np.allclose(moved.vertices, same.vertices)
    np.testing.assert_allclose(moved.pose3d_coco, pose3d + 0.3, atol=1e-6)


@pytest.mark.parametrize("pose3d, message", [
    (np.zeros((1, 17, 2)), "pose3d_coco must have shape"),
    (np.full((1, 17, 3), np.nan), r"pose3d_coco is NaN or inf.*\[0\]"),
])
def test_recover_mesh_bad_pose(predictor, pose3d, message):
    with pytest.raises(ValueError, match=message):
        predictor.recover_mesh(*people(1), (640, 480), pose3d)


def test_lift_validates_like_predict(predictor):
    keypoints, scores = people(1)
    with pytest.raises(ValueError, match="NaN or inf"):
        predictor.lift(keypoints * np.nan, scores, (640, 480))
