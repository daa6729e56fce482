"""Training runs, validates, writes atomic checkpoints and resumes exactly (test shard, CPU)."""
import json
import pathlib

import pytest
import torch
from safetensors.torch import load_file

from p2m_model.body.asset import BodyModelAsset
from p2m_model.predictor import Pose2MeshPredictor
from p2m_model.training.loop import TrainingConfig, learning_rate_factor, train

CONFIG = pathlib.Path(__file__).parents[2] / "p2m_model" / "configs" / "ci_smoke.yaml"


@pytest.fixture(scope="module")
def asset():
    return BodyModelAsset.load()


def _config(steps):
    config = TrainingConfig.from_yaml(CONFIG)
    config.optim.steps = steps
    return config


def test_run_writes_checkpoints_history_and_loads_as_predictor(tmp_path, asset):
    last = train(_config(4), tmp_path, asset, progress=False)
    assert last["step"] == 4 and last["samples"] == 8
    for name in ("state.pt", "model.safetensors", "best.safetensors", "config.yaml", "history.jsonl"):
        assert (tmp_path / name).is_file(), name
    records = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]
    assert [r["step"] for r in records if "mpjpe_mm" in r] == [2, 4]
    assert all(r["loss"] > 0 for r in records if "loss" in r)
    predictor = Pose2MeshPredictor.from_checkpoint(tmp_path / "model.safetensors", asset=asset,
                                                   device="cpu")
    assert predictor.config == _config(4).model
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_existing_run_is_not_overwritten_without_resume(tmp_path, asset):
    train(_config(2), tmp_path, asset, progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        train(_config(2), tmp_path, asset, progress=False)


def test_resume_without_state_is_a_clear_error(tmp_path, asset):
    with pytest.raises(FileNotFoundError, match="state.pt"):
        train(_config(2), tmp_path, asset, resume=True, progress=False)


def test_resumed_run_matches_an_uninterrupted_one(tmp_path, asset):
    train(_config(4), tmp_path / "straight", asset, progress=False)
    train(_config(2), tmp_path / "split", asset, progress=False)
    train(_config(4), tmp_path / "split", asset, resume=True, progress=False)
    straight = load_file(tmp_path / "straight" / "model.safetensors")
    resumed = load_file(tmp_path / "split" / "model.safetensors")
    assert straight.keys() == resumed.keys()
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=1e-5, atol=1e-6, msg=name)


def test_learning_rate_warms_up_then_decays_to_the_final_fraction():
    optim = _config(100).optim
    factors = [learning_rate_factor(step, optim) for step in range(optim.steps)]
    assert factors[0] == pytest.approx(1 / optim.warmup_steps)
    assert max(factors) == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(optim.final_lr_fraction, abs=1e-3)
    assert all(a >= b for a, b in zip(factors[optim.warmup_steps:], factors[optim.warmup_steps + 1:]))


def test_unknown_config_keys_are_rejected():
    with pytest.raises(ValueError, match="lrate"):
        TrainingConfig.from_dict({"optim": {"lrate": 1.0}})


def test_resume_with_more_steps_records_the_change(tmp_path, asset):
    train(_config(2), tmp_path, asset, progress=False)
    train(_config(4), tmp_path, asset, resume=True, progress=False)
    records = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert {"step": 2, "config_changed": {"optim.steps": [2, 4]}} in records
    assert "steps: 4" in (tmp_path / "config.yaml").read_text()
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]
