"""PoseNet's viewing-ray modes, and stage-1 training on a pose bank (train, resume, load)."""

import json
import pathlib

import numpy as np
import pytest
import torch
import yaml

from p2m_model.checkpoint import load_posenet_checkpoint
from p2m_model.config import Pose2MeshConfig, PoseNetConfig
from p2m_model.evaluation.posenet_scoring import predict_views
from p2m_model.nn.pose_normalization import PoseNormalizationConfig, root_ray
from p2m_model.nn.posenet import PoseNet, ray_alignment
from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.synthesis.view_sampler import ViewConfig, fixed_views
from p2m_model.training.posenet_stage import PoseNetStageConfig, train_posenet

BANKS = pathlib.Path(__file__).parents[1] / "data" / "pose_bank"


def test_ray_alignment_turns_each_ray_onto_the_optical_axis():
    rays = torch.tensor([[0.3, -0.2], [0.0, 0.0], [-0.5, 0.4]])
    rotation = ray_alignment(rays)
    direction = torch.cat([rays, torch.ones(3, 1)], dim=-1)
    direction = direction / direction.norm(dim=-1, keepdim=True)
    torch.testing.assert_close((rotation @ direction[..., None])[..., 0], torch.tensor([[0.0, 0.0, 1.0]] * 3))
    torch.testing.assert_close(rotation @ rotation.transpose(1, 2), torch.eye(3).expand(3, 3, 3))
    torch.testing.assert_close(torch.linalg.det(rotation), torch.ones(3))


def test_root_ray_from_the_hips_or_else_the_box_centre():
    keypoints = torch.zeros(2, 17, 2)
    keypoints[:, :, 0] = torch.arange(17.0) * 10.0 + 100.0
    keypoints[:, :, 1] = 200.0
    scores = torch.ones(2, 17)
    scores[1, 11] = 0.0  # the second person's left hip is not seen
    ray = root_ray(
        keypoints,
        scores,
        torch.tensor([500.0, 500.0]),
        torch.tensor([[100.0, 100.0]] * 2),
        (11, 12),
        PoseNormalizationConfig(),
    )
    hips_x = (keypoints[0, 11, 0] + keypoints[0, 12, 0]) / 2
    torch.testing.assert_close(ray[0], torch.stack([(hips_x - 100.0) / 500.0, torch.tensor(0.2)]))
    box_centre_x = (keypoints[1, scores[1] > 0.1, 0].min() + keypoints[1, scores[1] > 0.1, 0].max()) / 2
    torch.testing.assert_close(ray[1], torch.stack([(box_centre_x - 100.0) / 500.0, torch.tensor(0.2)]))


@pytest.mark.parametrize("mode", ["input", "aligned"])
def test_posenet_needs_the_ray_in_ray_modes(mode):
    posenet = PoseNet(PoseNetConfig(width=16, num_blocks=1, root_ray=mode)).eval()
    keypoints, scores = torch.randn(4, 17, 2), torch.rand(4, 17)
    with pytest.raises(ValueError, match="viewing ray"):
        posenet(keypoints, scores)
    straight = posenet(keypoints, scores, torch.zeros(4, 2))
    turned = posenet(keypoints, scores, torch.full((4, 2), 0.3))
    assert straight.shape == (4, 17, 3) and not torch.allclose(straight, turned)
    if mode == "aligned":
        # Only a rotation of the same prediction: every joint keeps its distance to the root.
        torch.testing.assert_close(straight.norm(dim=-1), turned.norm(dim=-1))


def test_unknown_ray_mode_is_refused():
    with pytest.raises(ValueError, match="root_ray"):
        PoseNetConfig(root_ray="sideways")


def _config(tmp_path, steps):
    config = {
        "model": {"posenet": {"width": 128, "num_blocks": 1, "dropout": 0.0, "root_ray": "input"}},
        "banks": {"train": [str(BANKS / "train.npz")], "val": str(BANKS / "val.npz"), "val_samples": 64},
        "optim": {"batch_size": 32, "steps": steps, "warmup_steps": 5, "lr": 0.002},
        "threads": 1,
        "device": "cpu",
        "log_every": 10,
        "validate_every": 40,
        "checkpoint_every": 20,
    }
    path = tmp_path / "posenet.yaml"
    path.write_text(yaml.safe_dump(config))
    return PoseNetStageConfig.from_yaml(path)


def test_training_learns_resumes_and_ships_a_loadable_posenet(tmp_path):
    run = tmp_path / "run"
    first = train_posenet(_config(tmp_path, 80), run, progress=False)
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses[-1] < 0.7 * losses[0]
    assert first["samples"] == 80 * 32 and first["scored"] == 64
    with pytest.raises(FileExistsError):
        train_posenet(_config(tmp_path, 80), run, progress=False)
    resumed = train_posenet(_config(tmp_path, 120), run, resume=True, progress=False)
    assert resumed["step"] == 120
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert {"step": 80, "config_changed": {"optim.steps": [80, 120]}} in records
    # The shipped file predicts exactly what the trained network predicts.
    posenet, info = load_posenet_checkpoint(run / "posenet.safetensors")
    state = torch.load(run / "state.pt", weights_only=False)
    trained = PoseNet(info.config.posenet)
    trained.load_state_dict(state["model"])
    views = fixed_views(PoseBank.load(BANKS / "val.npz"), ViewConfig(), seed=3)
    np.testing.assert_allclose(
        predict_views(posenet, views, info.config, torch.device("cpu")),
        predict_views(trained, views, info.config, torch.device("cpu")),
        atol=1e-6,
    )
    assert isinstance(info.config, Pose2MeshConfig) and info.config.posenet.root_ray == "input"


def test_a_new_run_continues_from_committed_weights(tmp_path):
    first = tmp_path / "first"
    train_posenet(_config(tmp_path, 40), first, progress=False)
    second = tmp_path / "second"
    last = train_posenet(_config(tmp_path, 60), second, progress=False, init_from=first / "posenet.safetensors")
    records = [json.loads(line) for line in (second / "history.jsonl").read_text().splitlines()]
    assert records[0] == {"step": 40, "init_from": str(first / "posenet.safetensors")}
    assert last["step"] == 60 and last["samples"] == 60 * 32
    # The schedule went on from step 40: the first logged step is 50, not 10.
    assert [r["step"] for r in records if "loss" in r] == [50, 60]
