import numpy as np
import pytest

from p2m_model.synthesis.cameras import (
    CameraConfig,
    project,
    sample_camera,
    sample_cameras,
    unproject,
    view_rotations,
)


def test_projection_round_trip():
    rng = np.random.default_rng(0)
    points = rng.uniform([-1.0, -1.0, 2.0], [1.0, 1.0, 8.0], size=(100, 3))
    principal_point = np.array([320.0, 240.0])
    pixels = project(points, 800.0, principal_point)
    np.testing.assert_allclose(unproject(pixels, points[:, 2], 800.0, principal_point), points, atol=1e-12)


def test_cameras_stay_in_configured_ranges():
    config = CameraConfig()
    rng = np.random.default_rng(1)
    cameras = [sample_camera(rng, config) for _ in range(500)]
    focal = np.array([c.focal_px for c in cameras])
    distance = np.array([c.translation[2] for c in cameras])
    azimuth = np.array([c.azimuth_deg for c in cameras])
    elevation = np.array([c.elevation_deg for c in cameras])
    assert focal.min() >= 500.0 and focal.max() <= 1500.0
    assert distance.min() >= 2.0 and distance.max() <= 8.0
    assert elevation.min() >= -15.0 and elevation.max() <= 45.0
    # Viewpoints all around the person: every 90-degree sector is used.
    assert set(np.floor(azimuth / 90.0).astype(int)) == {0, 1, 2, 3}
    for camera in cameras:
        assert tuple(camera.image_size.astype(int)) in config.image_sizes
        np.testing.assert_allclose(camera.rotation @ camera.rotation.T, np.eye(3), atol=1e-12)

    # The person is sometimes partly outside the image: the head (0.85 m above the root).
    def head_outside(camera):
        head = project(
            camera.rotation @ [0.0, -0.85, 0.0] + camera.translation, camera.focal_px, camera.principal_point_px
        )
        return np.any((head < 0) | (head >= camera.image_size))

    assert 0.01 < np.mean([head_outside(c) for c in cameras]) < 0.3


def test_view_rotation_front_and_back():
    # Azimuth 180 shows the back: the subject's left (+x) goes to image left (-x).
    np.testing.assert_allclose(view_rotations(180.0, 0.0) @ [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], atol=1e-12)


def test_positive_elevation_puts_the_camera_above_the_person():
    rotation = view_rotations(0.0, 30.0)
    translation = np.array([0.0, 0.0, 4.0])
    # The camera centre in the body frame (y down): above the root means y < 0.
    camera_centre = -rotation.T @ translation
    assert camera_centre[1] == pytest.approx(-4.0 * np.sin(np.deg2rad(30.0)))
    # Projected: seen from above, the head is nearer than the feet, so the body above the root
    # spans more pixels than the body below it.
    head, feet = np.array([0.0, -0.85, 0.0]), np.array([0.0, 0.85, 0.0])
    head_camera, feet_camera = rotation @ head + translation, rotation @ feet + translation
    assert head_camera[2] < translation[2] < feet_camera[2]
    pixels = project(np.stack([head_camera, feet_camera]), 1000.0, np.array([320.0, 240.0]))
    above_root = 240.0 - pixels[0, 1]
    below_root = pixels[1, 1] - 240.0
    assert above_root > below_root
    # And the opposite from below.
    low = view_rotations(0.0, -30.0)
    assert (low @ head + translation)[2] > (low @ feet + translation)[2]


def test_sampled_cameras_match_the_single_camera_path():
    batch = sample_cameras(np.random.default_rng(3), 64, CameraConfig())
    assert batch.rotation.shape == (64, 3, 3) and batch.translation.shape == (64, 3)
    np.testing.assert_allclose(
        np.einsum("nij,nkj->nik", batch.rotation, batch.rotation), np.broadcast_to(np.eye(3), (64, 3, 3)), atol=1e-12
    )
    one = sample_camera(np.random.default_rng(3), CameraConfig())
    first = sample_cameras(np.random.default_rng(3), 1, CameraConfig()).camera(0)
    np.testing.assert_array_equal(one.rotation, first.rotation)
    # Rolls are small and centred.
    assert abs(np.mean(batch.roll_deg)) < 2.0 and np.std(batch.roll_deg) < 6.0


def test_cameras_are_deterministic_from_seed():
    a = sample_camera(np.random.default_rng(5), CameraConfig())
    b = sample_camera(np.random.default_rng(5), CameraConfig())
    np.testing.assert_array_equal(a.rotation, b.rotation)
    assert a.focal_px == b.focal_px
