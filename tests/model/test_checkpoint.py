import json

import pytest
import torch

from p2m_model.body.grid_mesh import grid_asset
from p2m_model.checkpoint import load_checkpoint, read_checkpoint_info, save_checkpoint
from p2m_model.nn.cascade import Pose2MeshNet


def test_round_trip_restores_weights_and_config(tmp_path, toy_asset, make_config):
    config = make_config("direct_upsampling", use_scores=False)
    model = Pose2MeshNet(config, toy_asset.hierarchy).eval()
    path = save_checkpoint(tmp_path / "model.safetensors", model, toy_asset.version)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left
    info = read_checkpoint_info(path)
    assert info.config == config and info.asset_version == toy_asset.version
    loaded = load_checkpoint(path, toy_asset)
    keypoints, scores = torch.randn(2, 17, 2), torch.rand(2, 17)
    torch.testing.assert_close(loaded(keypoints, scores).vertices, model(keypoints, scores).vertices)


def test_overwrite_is_atomic_replacement(tmp_path, toy_asset, make_config):
    path = tmp_path / "model.safetensors"
    first = Pose2MeshNet(make_config(), toy_asset.hierarchy)
    save_checkpoint(path, first, toy_asset.version)
    second = Pose2MeshNet(make_config(), toy_asset.hierarchy)
    save_checkpoint(path, second, toy_asset.version)
    loaded = load_checkpoint(path, toy_asset)
    torch.testing.assert_close(loaded.posenet.output_layer.weight, second.posenet.output_layer.weight)


def test_asset_version_mismatch_refused(tmp_path, toy_asset, make_config):
    path = save_checkpoint(tmp_path / "m.safetensors",
                           Pose2MeshNet(make_config(), toy_asset.hierarchy), toy_asset.version)
    other = grid_asset(8, 6, version="synthetic-grid-v2")
    with pytest.raises(ValueError, match="synthetic-grid-v2"):
        load_checkpoint(path, other)


def test_missing_and_corrupt_files(tmp_path, toy_asset):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "absent.safetensors", toy_asset)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ValueError, match="corrupt.safetensors"):
        load_checkpoint(corrupt, toy_asset)


def test_foreign_safetensors_without_metadata_refused(tmp_path, toy_asset):
    from safetensors.torch import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"note": json.dumps("x")})
    with pytest.raises(ValueError, match="foreign.safetensors"):
        load_checkpoint(path, toy_asset)


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    from p2m_model.atomic_files import write_atomically

    path = write_atomically(tmp_path / "file.bin", lambda temp: open(temp, "wb").write(b"x"))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert path.read_bytes() == b"x"
