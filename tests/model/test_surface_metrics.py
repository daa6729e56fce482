"""Surface measures: zero for the truth, edge and normal errors of known distortions, roughness."""

import numpy as np
import pytest
import torch

from p2m_model.body.grid_mesh import grid_asset
from p2m_model.evaluation.surface_metrics import SurfaceScorer


@pytest.fixture(scope="module")
def grid():
    asset = grid_asset(12, 10)
    return asset.template.astype(np.float64), asset.faces


def test_the_truth_scores_perfectly_and_a_rigid_turn_changes_only_normals(grid):
    template, faces = grid
    scorer = SurfaceScorer(faces, len(template))
    same = scorer.score(template[None], template[None])
    assert same.edge_length_error_mm[0] == pytest.approx(0.0, abs=1e-3)
    assert same.normal_angle_error_deg[0] == pytest.approx(0.0, abs=0.1)
    assert same.roughness_ratio[0] == pytest.approx(1.0, abs=1e-5)
    angle = np.deg2rad(30.0)
    turn = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    turned = scorer.score((template @ turn.T)[None], template[None])
    assert turned.edge_length_error_mm[0] == pytest.approx(0.0, abs=1e-3)
    assert turned.normal_angle_error_deg[0] == pytest.approx(30.0, abs=0.1)
    assert turned.roughness_ratio[0] == pytest.approx(1.0, abs=1e-4)


def test_scaling_shows_in_edge_lengths_and_noise_in_roughness(grid):
    template, faces = grid
    scorer = SurfaceScorer(faces, len(template))
    edges = scorer.edge_lengths(torch.as_tensor(template[None], dtype=torch.float32))
    bigger = scorer.score(1.1 * template[None], template[None])
    assert bigger.edge_length_error_mm[0] == pytest.approx(100.0 * float(edges.mean()), rel=1e-3)
    assert bigger.roughness_ratio[0] == pytest.approx(1.0, abs=1e-4)  # scale-free
    rng = np.random.default_rng(0)
    shredded = template + rng.normal(scale=0.3 * float(edges.mean()), size=template.shape)
    rough = scorer.score(shredded[None], template[None])
    assert rough.roughness_ratio[0] > 1.5
    assert rough.summary()["normal_angle_error_deg"] > 10.0
