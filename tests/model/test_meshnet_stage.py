"""Stage-2 training: MeshNet on the frozen PoseNet, from a mesh bank (train, resume, ship)."""

import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

from p2m_model.checkpoint import load_checkpoint, posenet_training_step, save_posenet_checkpoint
from p2m_model.config import MeshNetConfig, Pose2MeshConfig, PoseNetConfig
from p2m_model.nn.posenet import PoseNet
from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.training.assemble_cascade import cascade_with_posenet
from p2m_model.training.meshnet_stage import MeshNetStageConfig, train_meshnet

POSENET = PoseNetConfig(width=32, num_blocks=1, dropout=0.0, root_ray="input")


def _config(tmp_path, asset, make_mesh_bank, steps, posenet=POSENET):
    if not (tmp_path / "train.npz").exists():
        make_mesh_bank(asset, 256, 0).save(tmp_path / "train.npz")
        make_mesh_bank(asset, 32, 1).save(tmp_path / "val.npz")
        config = Pose2MeshConfig(posenet=POSENET)
        save_posenet_checkpoint(tmp_path / "posenet.safetensors", PoseNet(POSENET), config, asset.version, 0)
    config = {
        "model": {
            "posenet": {"width": posenet.width, "num_blocks": 1, "dropout": 0.0, "root_ray": "input"},
            "meshnet": {"joint_channels": 8, "fc_channels": 4, "output_level": 2, "level_channels": [8, 8],
                        "level_blocks": [0, 1]},
        },
        "posenet": "posenet.safetensors",
        "banks": {"train": ["train.npz"], "val": "val.npz", "val_samples": 32},
        "surface_faces": 16,
        "optim": {"batch_size": 16, "steps": steps, "warmup_steps": 5, "lr": 0.003},
        "asset_version": asset.version,
        "threads": 1,
        "device": "cpu",
        "log_every": 10,
        "validate_every": 30,
        "checkpoint_every": 10,
    }
    path = tmp_path / "meshnet.yaml"
    path.write_text(yaml.safe_dump(config))
    return MeshNetStageConfig.from_yaml(path)


def test_meshnet_learns_on_the_frozen_posenet_resumes_and_ships_a_whole_cascade(tmp_path, toy_asset, make_mesh_bank):
    run = tmp_path / "run"
    first = train_meshnet(_config(tmp_path, toy_asset, make_mesh_bank, 60), run, toy_asset, progress=False)
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    vertex_losses = [r["vertex"] for r in records if "vertex" in r]
    assert vertex_losses[-1] < 0.7 * vertex_losses[0]
    assert first["samples"] == 60 * 16 and first["scored"] == 32
    assert {"mpvpe_mm", "pa_mpjpe_mm", "edge_length_error_mm", "roughness_ratio"} <= set(first)
    with pytest.raises(FileExistsError):
        train_meshnet(_config(tmp_path, toy_asset, make_mesh_bank, 60), run, toy_asset, progress=False)
    longer = _config(tmp_path, toy_asset, make_mesh_bank, 80)
    resumed = train_meshnet(longer, run, toy_asset, resume=True, progress=False)
    assert resumed["step"] == 80
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert {"step": 60, "config_changed": {"optim.steps": [60, 80]}} in records

    shipped = load_checkpoint(run / "model.safetensors", toy_asset)
    # PoseNet stayed what stage 1 made it; MeshNet is the trained one.
    stage1 = load_file(str(tmp_path / "posenet.safetensors"))
    for name, tensor in shipped.posenet.state_dict().items():
        torch.testing.assert_close(tensor, stage1[f"posenet.{name}"])
    state = torch.load(run / "state.pt", weights_only=False)
    for name, tensor in shipped.meshnet.state_dict().items():
        torch.testing.assert_close(tensor, state["meshnet"][name])
    assert shipped.config.meshnet == MeshNetConfig(joint_channels=8, fc_channels=4, output_level=2,
                                                   level_channels=(8, 8), level_blocks=(0, 1))


def test_a_posenet_other_than_the_configured_one_is_refused(tmp_path, toy_asset, make_mesh_bank):
    config = _config(tmp_path, toy_asset, make_mesh_bank, 10, PoseNetConfig(width=64, num_blocks=1, root_ray="input"))
    with pytest.raises(ValueError, match="posenet"):
        train_meshnet(config, tmp_path / "run", toy_asset, progress=False)


def test_a_joints_only_bank_is_refused(tmp_path, toy_asset, make_mesh_bank):
    config = _config(tmp_path, toy_asset, make_mesh_bank, 10)
    bank = PoseBank.load(tmp_path / "train.npz")
    PoseBank(bank.joints_coco, bank.joints_h36m, bank.source, bank.phenotypes, bank.sources).save(
        tmp_path / "train.npz")
    with pytest.raises(ValueError, match="--vertices"):
        train_meshnet(config, tmp_path / "run", toy_asset, progress=False)


def test_a_cascade_takes_a_posenet_trained_further(tmp_path, toy_asset, make_mesh_bank):
    train_meshnet(_config(tmp_path, toy_asset, make_mesh_bank, 10), tmp_path / "run", toy_asset, progress=False)
    further = PoseNet(POSENET)
    save_posenet_checkpoint(tmp_path / "further.safetensors", further, Pose2MeshConfig(posenet=POSENET),
                            toy_asset.version, 99)
    model = cascade_with_posenet(tmp_path / "run" / "model.safetensors", tmp_path / "further.safetensors", toy_asset)
    for name, tensor in further.state_dict().items():
        torch.testing.assert_close(model.posenet.state_dict()[name], tensor)
    trained = load_checkpoint(tmp_path / "run" / "model.safetensors", toy_asset)
    for name, tensor in trained.meshnet.state_dict().items():
        torch.testing.assert_close(model.meshnet.state_dict()[name], tensor)
    other = PoseNetConfig(width=16, num_blocks=1, dropout=0.0, root_ray="input")
    save_posenet_checkpoint(tmp_path / "other.safetensors", PoseNet(other), Pose2MeshConfig(posenet=other),
                            toy_asset.version, 0)
    with pytest.raises(ValueError, match="posenet"):
        cascade_with_posenet(tmp_path / "run" / "model.safetensors", tmp_path / "other.safetensors", toy_asset)


def test_a_resumed_run_can_go_on_with_a_posenet_trained_further(tmp_path, toy_asset, make_mesh_bank):
    run = tmp_path / "run"
    train_meshnet(_config(tmp_path, toy_asset, make_mesh_bank, 20), run, toy_asset, progress=False)
    further = PoseNet(POSENET)
    save_posenet_checkpoint(tmp_path / "further.safetensors", further, Pose2MeshConfig(posenet=POSENET),
                            toy_asset.version, 99)
    config = _config(tmp_path, toy_asset, make_mesh_bank, 30)
    config.posenet = str(tmp_path / "further.safetensors")  # what --posenet sets
    train_meshnet(config, run, toy_asset, resume=True, progress=False)
    shipped = load_checkpoint(run / "model.safetensors", toy_asset)
    for name, tensor in further.state_dict().items():
        torch.testing.assert_close(shipped.posenet.state_dict()[name], tensor)
    # Stage 1 can go on from the cascade: it carries its PoseNet's training step.
    assert posenet_training_step(run / "model.safetensors") == 99
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    changed = [r["config_changed"] for r in records if "config_changed" in r]
    assert changed[-1]["posenet"] == [str(tmp_path / "posenet.safetensors"), str(tmp_path / "further.safetensors")]


def test_a_joint_fine_tune_starts_from_a_trained_cascade_and_trains_posenet_too(tmp_path, toy_asset,
                                                                                make_mesh_bank):
    stage2 = tmp_path / "stage2"
    train_meshnet(_config(tmp_path, toy_asset, make_mesh_bank, 30), stage2, toy_asset, progress=False)
    trained = load_checkpoint(stage2 / "model.safetensors", toy_asset)

    config = _config(tmp_path, toy_asset, make_mesh_bank, 20)
    config.init_from = config.posenet = str(stage2 / "model.safetensors")
    frozen = train_meshnet(config, tmp_path / "frozen", toy_asset, progress=False)
    config.joint_posenet_lr = 0.003
    joint = train_meshnet(config, tmp_path / "joint", toy_asset, progress=False)

    frozen_model = load_checkpoint(tmp_path / "frozen" / "model.safetensors", toy_asset)
    joint_model = load_checkpoint(tmp_path / "joint" / "model.safetensors", toy_asset)
    for name, tensor in frozen_model.posenet.state_dict().items():
        torch.testing.assert_close(tensor, trained.posenet.state_dict()[name])
    changed = {name for name, tensor in joint_model.posenet.state_dict().items()
               if not torch.equal(tensor, trained.posenet.state_dict()[name])}
    assert any(name.endswith("weight") for name in changed)
    # its batch-norm statistics stay stage 1's
    assert not any(name.endswith(("running_mean", "running_var")) for name in changed)
    # Both went on from the trained MeshNet: their first logged losses are near where it ended.
    def vertex_losses(run):
        records = [json.loads(line) for line in (tmp_path / run / "history.jsonl").read_text().splitlines()]
        return [r["vertex"] for r in records if "vertex" in r]

    assert abs(vertex_losses("frozen")[0] - vertex_losses("stage2")[-1]) < 0.3 * (
        vertex_losses("stage2")[0] - vertex_losses("stage2")[-1])
    assert frozen["step"] == joint["step"] == 20
    state = torch.load(tmp_path / "joint" / "state.pt", weights_only=False)
    for name, tensor in joint_model.posenet.state_dict().items():
        torch.testing.assert_close(tensor, state["posenet"][name])

    config.init_from = str(tmp_path / "posenet.safetensors")
    with pytest.raises(ValueError):
        train_meshnet(config, tmp_path / "bad", toy_asset, progress=False)
