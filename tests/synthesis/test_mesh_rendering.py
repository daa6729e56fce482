"""The numpy rasteriser: coverage, occlusion, culling, shading and overlays."""

from __future__ import annotations

import numpy as np
import pytest

from p2m_model.mesh_rendering import overlay, rasterize, render

K = np.array([[100.0, 0.0, 32.0], [0.0, 100.0, 24.0], [0.0, 0.0, 1.0]])
SIZE = (64, 48)
# A square of two triangles, counter-clockwise as seen from the camera (normal toward -z).
SQUARE_FACES = np.array([[0, 2, 1], [0, 3, 2]])


def square(centre_xy: tuple[float, float], half_m: float, depth_m: float) -> np.ndarray:
    x, y = centre_xy
    return np.array(
        [[x - half_m, y - half_m, depth_m], [x + half_m, y - half_m, depth_m],
         [x + half_m, y + half_m, depth_m], [x - half_m, y + half_m, depth_m]]
    )


def test_square_covers_its_projection_without_holes() -> None:
    vertices = square((0.0, 0.0), 0.1, 1.0)[None]  # projects to u 22..42, v 14..34
    face_map, depth = rasterize(vertices, SQUARE_FACES, K, SIZE)
    covered = face_map >= 0
    assert covered[15:33, 23:41].all()
    assert not covered[:13].any() and not covered[:, :21].any() and not covered[:, 43:].any()
    np.testing.assert_allclose(depth[covered], 1.0, atol=1e-3)


def test_nearer_mesh_hides_farther_one_and_back_faces_are_culled() -> None:
    far = square((0.0, 0.0), 0.2, 2.0)
    near = square((0.05, 0.0), 0.05, 1.0)
    face_map, depth = rasterize(np.stack([far, near]), SQUARE_FACES, K, SIZE)
    assert set(np.unique(face_map[24, 35:40])) <= {2, 3}  # mesh 1's faces are 2 and 3
    assert np.isclose(depth[24, 25], 2.0, atol=1e-3)
    flipped, _ = rasterize(far[None], SQUARE_FACES[:, ::-1], K, SIZE)
    assert (flipped < 0).all()


def test_render_colours_and_lambert_shading() -> None:
    facing = square((0.0, 0.0), 0.1, 1.0)
    tilted = facing.copy()
    tilted[[1, 2], 2] += 0.15  # the right edge leans away: less light
    image = render(np.stack([facing]), SQUARE_FACES, K, SIZE, colours=np.array([[200, 100, 0]]), background=(0, 0, 0))
    assert image.dtype == np.uint8 and image.shape == (48, 64, 3)
    assert tuple(image[0, 0]) == (0, 0, 0)
    lit = image[24, 32].astype(int)
    assert lit[0] > 150 and lit[2] == 0 and lit[0] > lit[1]
    dimmer = render(tilted[None], SQUARE_FACES, K, SIZE, colours=np.array([[200, 100, 0]]), background=(0, 0, 0))
    assert dimmer[24, 30, 0] < lit[0]


def test_overlay_blends_only_where_the_mesh_is() -> None:
    image = np.full((48, 64, 3), 50, dtype=np.uint8)
    result = overlay(image, square((0.0, 0.0), 0.1, 1.0)[None], SQUARE_FACES, K, colour=(250, 250, 250), alpha=0.5)
    assert tuple(result[0, 0]) == (50, 50, 50)
    assert 120 < result[24, 32, 0] < 160
    assert tuple(image[24, 32]) == (50, 50, 50)  # input untouched
    with pytest.raises(ValueError, match="alpha"):
        overlay(image, square((0.0, 0.0), 0.1, 1.0)[None], SQUARE_FACES, K, alpha=1.5)
