"""MeshRecovery with the per-track temporal filter: tracked people smoothed, untracked untouched."""
from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from p2m_model.camera_placement import CameraPlacementConfig
from p2m_model.tracking.smoothing import MeshSmoother
from p2m_msgs.msg import Keypoints2D, Keypoints2DArray
from p2m_nodes.stages.conversions import float32_view
from p2m_nodes.stages.pipeline_stages import MeshRecovery, PoseAndMeshRecovery
from p2m_nodes.stages.validation import ValidationConfig

CAMERA_MATRIX = np.array([[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]])


def frame(time_s: float, seed: int) -> Keypoints2DArray:
    """Person 4 (tracked) and an untracked person, both drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    people = []
    for person_id, centre in ((4, (200.0, 240.0)), (-1, (450.0, 240.0))):
        keypoints = (rng.uniform(-60, 60, (17, 2)) + centre).astype(np.float32)
        people.append(Keypoints2D(person_id=person_id, skeleton="coco17",
                                  keypoints=array.array("f", keypoints.tobytes()),
                                  scores=array.array("f", np.full(17, 0.9, np.float32).tobytes())))
    sec, nanosec = divmod(round(time_s * 1e9), 10**9)
    return Keypoints2DArray(header=Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id="camera_optical_frame"),
                            image_width=640, image_height=480, people=people)


def meshes(stage: PoseAndMeshRecovery, msg: Keypoints2DArray) -> dict[int, np.ndarray]:
    return {person.person_id: float32_view(person.vertices).reshape(-1, 3)
            for person in stage(msg, CAMERA_MATRIX).message[1].people}


def test_tracked_person_is_smoothed_and_untracked_passes(small_predictor) -> None:
    validation = ValidationConfig(max_people=8)
    plain = PoseAndMeshRecovery(MeshRecovery(small_predictor, validation, CameraPlacementConfig()))
    smoothed = PoseAndMeshRecovery(MeshRecovery(small_predictor, validation, CameraPlacementConfig(),
                                                smoother=MeshSmoother()))
    first, second = frame(100.0, 0), frame(100.0 + 1 / 30, 1)
    before, after = meshes(plain, first), meshes(plain, second)
    assert meshes(smoothed, first).keys() == {4, -1}
    for person_id in (4, -1):  # a first frame passes unchanged
        np.testing.assert_allclose(meshes(smoothed, first)[person_id], before[person_id], atol=1e-4)
    # meshes() ran the smoothed stage twice on the first frame (same stamp: a restart, not a step).
    filtered = meshes(smoothed, second)
    np.testing.assert_allclose(filtered[-1], after[-1], atol=1e-5)
    # Tracked: strictly between the previous and the new mesh (root and shape both low-passed).
    distance_to_new = np.linalg.norm(filtered[4] - after[4], axis=-1).mean()
    step = np.linalg.norm(before[4] - after[4], axis=-1).mean()
    assert 0.05 * step < distance_to_new < step
