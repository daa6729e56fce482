import torch

from p2m_model.nn.pose_normalization import PoseNormalizationConfig, crop_box, normalize_keypoints


def random_pose(batch: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    keypoints = torch.rand(batch, 17, 2, dtype=torch.float64) * torch.tensor([200.0, 400.0]) + 50
    scores = torch.rand(batch, 17, dtype=torch.float64) * 0.8 + 0.2
    return keypoints, scores


def test_translation_and_scale_invariance():
    keypoints, scores = random_pose()
    config = PoseNormalizationConfig()
    reference = normalize_keypoints(keypoints, scores, config)
    moved = normalize_keypoints(keypoints * 3.7 + torch.tensor([-120.0, 900.0]), scores, config)
    torch.testing.assert_close(moved, reference)


def test_standardized_over_confident_joints_and_zero_elsewhere():
    keypoints, scores = random_pose()
    scores[:, [0, 3, 9]] = 0.05  # below the 0.1 threshold
    keypoints[:, 3] = 1e6  # an outlier must not move the statistics
    normalized = normalize_keypoints(keypoints, scores, PoseNormalizationConfig())
    confident = scores > 0.1
    assert torch.all(normalized[~confident] == 0)
    for person in range(keypoints.shape[0]):
        values = normalized[person][confident[person]]
        torch.testing.assert_close(values.mean(0), torch.zeros(2, dtype=torch.float64))
        torch.testing.assert_close(values.std(0, unbiased=False), torch.ones(2, dtype=torch.float64))


def test_crop_box_aspect_and_single_joint():
    keypoints, scores = random_pose(2)
    mask = torch.zeros(2, 17, dtype=torch.bool)
    mask[0] = True
    mask[1, 4] = True
    box = crop_box(keypoints, mask, 1.25)
    torch.testing.assert_close(box[:, 2] / box[:, 3], torch.full((2,), 0.75, dtype=torch.float64))
    normalized = normalize_keypoints(keypoints, mask.double(), PoseNormalizationConfig())
    assert torch.all(torch.isfinite(normalized)) and torch.all(normalized[1] == 0)


def test_isotropic_normalization_keeps_the_aspect_ratio():
    keypoints, scores = random_pose()
    wide = keypoints * torch.tensor([2.0, 1.0])  # the same pose, twice as wide
    per_axis, isotropic = PoseNormalizationConfig(), PoseNormalizationConfig(isotropic=True)
    # Per-axis standardization (Pose2Mesh's) cannot tell the two apart ...
    torch.testing.assert_close(
        normalize_keypoints(wide, scores, per_axis), normalize_keypoints(keypoints, scores, per_axis)
    )
    # ... one spread for both axes can: x/y spreads keep their ratio, and stay scale-free.
    narrow_out = normalize_keypoints(keypoints, scores, isotropic)
    wide_out = normalize_keypoints(wide, scores, isotropic)
    ratio = wide_out.std(dim=1)[:, 0] / wide_out.std(dim=1)[:, 1]
    torch.testing.assert_close(ratio, 2.0 * narrow_out.std(dim=1)[:, 0] / narrow_out.std(dim=1)[:, 1])
    torch.testing.assert_close(normalize_keypoints(wide * 3.0 + 40.0, scores, isotropic), wide_out)
