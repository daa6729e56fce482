"""A real photo goes through MediaPipe, the model and the renderer (random weights: the
geometry of the pipeline is checked, not the quality of the mesh)."""
import numpy as np
import torch
from skimage import data

from p2m_model.body.asset import BodyModelAsset
from p2m_model.config import Pose2MeshConfig
from p2m_model.evaluation.photo_check import photo_overlay
from p2m_model.inputs.keypoint_detection import MediaPipePoseConfig, MediaPipePoseDetector
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.predictor import Pose2MeshPredictor, assumed_camera_matrix


def test_astronaut_photo_is_detected_recovered_and_drawn():
    torch.manual_seed(0)
    asset = BodyModelAsset.load()
    predictor = Pose2MeshPredictor(Pose2MeshNet(Pose2MeshConfig(), asset.hierarchy), asset, "cpu")
    image = data.astronaut()
    drawn, keypoints, scores = photo_overlay(
        predictor, MediaPipePoseDetector(MediaPipePoseConfig(static_image_mode=True)), image)
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    confident = keypoints[scores > 0.5]
    assert len(confident) >= 5
    assert np.all((confident >= 0) & (confident < 512))


def test_assumed_intrinsics_put_the_principal_point_at_the_centre():
    k = assumed_camera_matrix((640, 480))
    np.testing.assert_allclose(k @ [0, 0, 1], [320, 240, 1])
    assert k[0, 0] == k[1, 1] == 640
