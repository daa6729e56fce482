"""Scoring through the predictor: hand-built ground truth gives known errors."""
import pathlib

import numpy as np
import pytest
import torch

from p2m_model.body.asset import BodyModelAsset
from p2m_model.config import Pose2MeshConfig
from p2m_model.evaluation.scoring import SCORED_JOINTS, noise_level_percent, score_batch
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.predictor import Pose2MeshPredictor


@pytest.fixture(scope="module")
def predictor_and_batch():
    torch.manual_seed(0)
    asset = BodyModelAsset.load()
    predictor = Pose2MeshPredictor(Pose2MeshNet(Pose2MeshConfig(), asset.hierarchy), asset, "cpu")
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(100, 400, size=(3, 17, 2)).astype(np.float32)
    scores = rng.uniform(0.5, 1.0, size=(3, 17)).astype(np.float32)
    result = predictor.predict(keypoints, scores, (640, 480))
    batch = {"keypoints": torch.from_numpy(keypoints), "scores": torch.from_numpy(scores),
             "keypoints_exact": torch.from_numpy(keypoints),
             "image_size": torch.tensor([[640.0, 480.0]] * 3),
             "joints_h36m": torch.from_numpy(result.joints3d),
             "vertices": torch.from_numpy(result.vertices)}
    return predictor, batch


def _with_truth(batch, transform):
    changed = dict(batch)
    changed["joints_h36m"] = transform(batch["joints_h36m"])
    changed["vertices"] = transform(batch["vertices"])
    return changed


def test_truth_equal_to_the_prediction_scores_zero(predictor_and_batch):
    predictor, batch = predictor_and_batch
    errors = score_batch(predictor, batch)
    for name in ("mpjpe", "pa_mpjpe", "mpvpe"):
        np.testing.assert_allclose(getattr(errors, name), 0.0, atol=1e-3)
    assert errors.per_joint.shape == (3, 17)


def test_a_shifted_truth_scores_zero_after_pelvis_alignment(predictor_and_batch):
    predictor, batch = predictor_and_batch
    errors = score_batch(predictor, _with_truth(batch, lambda x: x + torch.tensor([0.3, -0.2, 1.0])))
    np.testing.assert_allclose(errors.mpjpe, 0.0, atol=1e-3)
    np.testing.assert_allclose(errors.mpvpe, 0.0, atol=1e-3)


def test_a_scaled_truth_has_zero_pa_mpjpe_and_the_known_mpjpe(predictor_and_batch):
    predictor, batch = predictor_and_batch
    pelvis = batch["joints_h36m"][:, :1]
    errors = score_batch(predictor, _with_truth(batch, lambda x: pelvis + 1.2 * (x - pelvis)))
    np.testing.assert_allclose(errors.pa_mpjpe, 0.0, atol=1e-2)
    relative = (batch["joints_h36m"] - pelvis).numpy()[:, SCORED_JOINTS]
    expected = 1000 * 0.2 * np.linalg.norm(relative, axis=-1).mean(axis=1)
    np.testing.assert_allclose(errors.mpjpe, expected, rtol=1e-4)


def test_noise_level_is_the_mean_error_over_the_box_diagonal():
    exact = np.array([[[0.0, 0.0], [30.0, 40.0]]])  # diagonal 50 px
    detected = exact + np.array([[[5.0, 0.0], [0.0, 0.0]]])  # mean error 2.5 px
    np.testing.assert_allclose(noise_level_percent(detected, exact), [5.0])


@pytest.fixture
def random_checkpoint(tmp_path) -> pathlib.Path:
    """An untrained default-config cascade on the shipped body model, seeded."""
    from p2m_model.checkpoint import save_checkpoint

    torch.manual_seed(0)
    asset = BodyModelAsset.load()
    return save_checkpoint(tmp_path / "model.safetensors", Pose2MeshNet(Pose2MeshConfig(), asset.hierarchy),
                           asset.version)


def test_evaluation_cli_writes_the_report(tmp_path, random_checkpoint):
    import json

    from p2m_model.evaluation.__main__ import main

    checkpoint, asset = random_checkpoint, BodyModelAsset.load()
    shards = pathlib.Path(__file__).parents[1] / "data" / "synth"
    report = tmp_path / "report"
    assert main(["--checkpoint", str(checkpoint), "--data", str(shards), "--output", str(report),
                 "--max-samples", "4", "--device", "cpu"]) == 0
    figures = json.loads((report / "evaluation.json").read_text())
    assert figures["samples"] == 4 and figures["asset_version"] == asset.version
    assert sum(row["samples"] for row in figures["by_source"]) == 4
    assert set(figures["per_joint_mm"]) >= {"pelvis", "head", "right_wrist"}
    for name in ("evaluation.md", "per_joint.png", "error_vs_noise.png", "meshes.png"):
        assert (report / name).stat().st_size > 0, name


def test_posenet_report_with_and_without_detector_errors(tmp_path, random_checkpoint):
    import json

    from p2m_model.evaluation.__main__ import main

    checkpoint = random_checkpoint
    bank = pathlib.Path(__file__).parents[1] / "data" / "pose_bank" / "test.npz"
    figures = {}
    for errors in ("on", "off"):
        report = tmp_path / errors
        assert main(["--pose-bank", str(bank), "--posenet", str(checkpoint), "--detector-errors", errors,
                     "--output", str(report), "--device", "cpu"]) == 0
        figures[errors] = json.loads((report / "posenet.json").read_text())
        assert (report / "posenet.md").stat().st_size > 0
    assert figures["on"]["all"]["samples"] == figures["off"]["all"]["samples"] > 0
    assert figures["on"]["all"]["mpjpe_mm"] != figures["off"]["all"]["mpjpe_mm"]  # other inputs


def test_power_law_fit_recovers_a_known_curve_and_its_extrapolation():
    from p2m_model.evaluation.report import fit_learning_curve

    steps = np.array([100, 500, 1000, 2000, 4000])
    errors = 3000.0 * steps ** -0.4
    errors[0] = 900.0  # a warm-up point off the curve: before FIT_FIRST_STEP, ignored
    fit = fit_learning_curve(steps, errors)
    assert fit.exponent == pytest.approx(0.4) and fit.scale == pytest.approx(3000.0)
    assert fit.steps_to(60.0) == pytest.approx((3000.0 / 60.0) ** (1 / 0.4))
    assert fit_learning_curve(steps[:3], errors[:3]) is None  # two usable points
    flat = fit_learning_curve(steps, np.full(5, 200.0))
    assert flat.steps_to(60.0) is None


def test_report_learning_curve_from_a_history(tmp_path):
    import json

    from p2m_model.evaluation.report import _learning_curve_lines, _plot_history

    history = tmp_path / "history.jsonl"
    lines = [{"step": step, "elapsed_s": 1.5 * step, "loss": 1.0 / step} for step in range(25, 2001, 25)]
    # A resumed run restarts its clock: that gap must not enter the seconds per step.
    lines += [{"step": step, "elapsed_s": 1.5 * (step - 2000), "loss": 1.0 / step}
              for step in range(2025, 3001, 25)]
    lines += [{"step": step, "mpjpe_mm": 3000.0 * step ** -0.4, "pa_mpjpe_mm": 100.0,
               "mpvpe_mm": 300.0} for step in (500, 1000, 1500, 2000, 3000)]
    history.write_text("\n".join(json.dumps(line) for line in lines))
    curve = _plot_history(history, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0
    assert curve["seconds_per_step"] == pytest.approx(1.5)
    assert curve["fit"]["exponent"] == pytest.approx(0.4)
    text = "\n".join(_learning_curve_lines(curve))
    assert "| 3000 |" in text and "reaches the 60 mm target at about 17,678 steps" in text
