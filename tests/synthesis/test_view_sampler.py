"""Streaming views of a pose bank: geometry, determinism, resumability."""

import pathlib

import numpy as np
import pytest

from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.synthesis.view_sampler import StreamingViews, ViewConfig, fixed_views, view_bodies

BANK = PoseBank.load(pathlib.Path(__file__).parents[1] / "data" / "pose_bank" / "train.npz")


def test_views_are_rigid_turns_and_projections_of_bank_bodies():
    indices = np.arange(32)
    views = view_bodies(np.random.default_rng(0), BANK, indices, ViewConfig())
    assert views.keypoints.shape == (32, 17, 2) and views.scores.shape == (32, 17)

    # The 3D pose is the bank body turned: distances between joints are kept.
    def distances(joints):
        return np.linalg.norm(joints[:, :, None] - joints[:, None], axis=-1)

    np.testing.assert_allclose(distances(views.pose3d_coco), distances(BANK.joints_coco[indices]), atol=1e-5)
    # Exact keypoints are the pinhole projections of the posed joints placed at the root.
    points = views.pose3d_coco + views.root_camera[:, None]
    projected = views.focal_px[:, None, None] * points[..., :2] / points[..., 2:] + views.principal_point_px[:, None]
    np.testing.assert_allclose(projected, views.keypoints_exact, atol=1e-6)
    assert np.all(views.root_camera[:, 2] > 0)
    np.testing.assert_array_equal(views.source, BANK.source[indices])


def test_stream_is_deterministic_resumable_and_never_repeats_a_view():
    stream = StreamingViews(BANK, 64, ViewConfig(), seed=5)
    again = StreamingViews(BANK, 64, ViewConfig(), seed=5)
    np.testing.assert_array_equal(stream.batch(7).keypoints, again.batch(7).keypoints)
    first_epoch = np.concatenate([stream.batch(b).pose3d_coco for b in range(stream.batches_per_epoch)])
    second_epoch = np.concatenate([stream.batch(b).pose3d_coco for b in range(4, 8)])
    assert len(first_epoch) == stream.batches_per_epoch * 64
    # The same bodies come back in the next epoch, but never through the same camera.
    assert not np.isin(second_epoch.round(6), first_epoch.round(6)).all(axis=(1, 2)).any()


def test_fixed_views_depend_only_on_the_seed():
    a, b, c = fixed_views(BANK, ViewConfig(), 1), fixed_views(BANK, ViewConfig(), 1), fixed_views(BANK, ViewConfig(), 2)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.keypoints, c.keypoints)
    assert len(a) == len(BANK)


def test_a_bank_smaller_than_a_batch_is_refused():
    with pytest.raises(ValueError, match="fewer than one batch"):
        StreamingViews(BANK, len(BANK) + 1, ViewConfig(), seed=0)
