"""Whether MeshNet uses its 3D input, measured by feeding it PoseNet's, the true and no 3D pose."""

import dataclasses

import pytest

from p2m_model.evaluation.pose_input_use import pose_input_use
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.predictor import Pose2MeshPredictor


@pytest.mark.parametrize("inputs", ["2d+3d", "2d"])
def test_meshes_move_with_the_3d_input_only_when_meshnet_takes_it(toy_asset, make_config, make_mesh_bank, inputs):
    config = make_config()
    config.meshnet = dataclasses.replace(config.meshnet, inputs=inputs)
    predictor = Pose2MeshPredictor(Pose2MeshNet.for_asset(config, toy_asset), toy_asset, "cpu")
    figures = pose_input_use(predictor, make_mesh_bank(toy_asset, 16, 0), batch_size=8)
    assert figures["posenet"]["moved_mm"] == 0.0
    assert all(figures[name]["mpvpe_mm"] > 0 for name in figures)
    if inputs == "2d":
        assert figures["true"]["moved_mm"] == figures["zero"]["moved_mm"] == 0.0
    else:
        assert figures["true"]["moved_mm"] > 0.1 and figures["zero"]["moved_mm"] > 0.1
