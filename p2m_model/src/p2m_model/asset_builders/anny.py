"""Build the Anny body-model asset (``p2m_model/assets/anny-v1.npz``) from the ``anny`` package.

Offline only: ``anny`` is imported through :class:`~p2m_model.synthesis.anny_bodies.AnnyBodyGenerator`,
the same generator (faces, front-view frame, COCO hip root) that made the training data, so the
dataset, the asset and the predictor agree on vertices and root.

* faces: ``model.get_triangular_faces()`` (Anny's quads split into triangles by anny itself).
* template: the rest A-pose body at phenotypes 0.5, front-view frame, root = mid COCO hips.
* COCO-17: Anny's shipped ``KeypointsRegressor.coco``, first 17 of its 23 points.
* H36M-17: one sparse non-negative vertex regressor per joint (rows sum to 1), fitted by
  :func:`fit_vertex_regressor` so that on posed and shaped Anny bodies it reproduces
  :data:`H36M17_TARGETS` (bone heads, Anny's COCO nose, a head-top point).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import torch
from tqdm import tqdm

from p2m_model.asset_builders.geometric_joints import head_top_weights
from p2m_model.body.asset import BodyModelAsset
from p2m_model.body.coarsening import DEFAULT_NUM_COARSENINGS, mesh_hierarchy
from p2m_model.body.skeletons import COCO17_JOINT_NAMES, H36M17_JOINT_NAMES
from p2m_model.evaluation.metrics import MM_PER_M
from p2m_model.synthesis.anny_bodies import ANNY_TO_FRONT_VIEW, AnnyBodyGenerator

ANNY_ASSET_VERSION = "anny-v1"

# Target of each H36M-17 joint on an Anny body: ("bone", label) = that bone's head,
# ("bones", (a, b)) = mid-point of two targets' heads, ("coco", name) = Anny's COCO point,
# ("head_top", None) = the top of the skull (geometric_joints.head_top_weights).
# Hip/knee/ankle/shoulder/elbow/wrist joint centres are the heads of the bone they start;
# H36M's torso ("spine") lies between pelvis and neck.
H36M17_TARGETS: dict[str, tuple[str, object]] = {
    "pelvis": ("bone", "root"),
    "right_hip": ("bone", "upperleg01.R"),
    "right_knee": ("bone", "lowerleg01.R"),
    "right_ankle": ("bone", "foot.R"),
    "left_hip": ("bone", "upperleg01.L"),
    "left_knee": ("bone", "lowerleg01.L"),
    "left_ankle": ("bone", "foot.L"),
    "torso": ("bones", ("root", "neck01")),
    "neck": ("bone", "neck01"),
    "nose": ("coco", "nose"),
    "head": ("head_top", None),
    "left_shoulder": ("bone", "upperarm01.L"),
    "left_elbow": ("bone", "lowerarm01.L"),
    "left_wrist": ("bone", "wrist.L"),
    "right_shoulder": ("bone", "upperarm01.R"),
    "right_elbow": ("bone", "lowerarm01.R"),
    "right_wrist": ("bone", "wrist.R"),
}


@dataclass(frozen=True)
class AnnyAssetConfig:
    """Settings of :func:`build_anny_asset`.

    Attributes:
        fit_bodies: posed/shaped bodies the H36M-17 regressors are fitted on.
        check_bodies: further bodies (not fitted) the fit error is reported on.
        candidate_vertices: per joint, the regressor may use this many vertices nearest to
            its target on the rest body.
        head_top_radius_m: vertices this close (metres, vertical) to the highest rest vertex
            average into the head-top point.
        num_coarsenings: mesh hierarchy levels minus one.
        seed: seed of the pose and phenotype sampling.
        batch_size: bodies per Anny forward pass.
    """

    fit_bodies: int = 384
    check_bodies: int = 128
    candidate_vertices: int = 200
    head_top_radius_m: float = 0.01
    num_coarsenings: int = DEFAULT_NUM_COARSENINGS
    seed: int = 0
    batch_size: int = 64


def fit_vertex_regressor(vertices: np.ndarray, targets: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 over ``candidates`` that best reproduce ``targets``.

    Solves min ||sum_k w_k v_k - t||^2 over all bodies, w >= 0, by NNLS with a heavily
    weighted sum-to-one row (then renormalized); NNLS solutions are sparse.

    Args:
        vertices: (N, V, 3) bodies.
        targets: (N, 3) target point of each body (same frame and units).
        candidates: (K,) vertex indices the weights may use.

    Returns:
        (V,) float64 weights, non-negative, summing to 1, zero outside ``candidates``.
    """
    design = vertices[:, candidates, :].transpose(0, 2, 1).reshape(-1, candidates.size)  # (3N, K)
    scale = np.abs(design).max()
    sum_weight = 100.0 * scale * np.sqrt(len(targets))  # enforce sum 1 far above the fit residual
    matrix = np.vstack([design, np.full((1, candidates.size), sum_weight)])
    rhs = np.concatenate([targets.reshape(-1), [sum_weight]])
    solution, _ = scipy.optimize.nnls(matrix, rhs, maxiter=50 * candidates.size)
    weights = np.zeros(vertices.shape[1])
    weights[candidates] = solution / solution.sum()
    return weights


def _sample_bodies(generator, count: int, rng: np.random.Generator, batch_size: int, description: str):
    """Posed, shaped bodies: (N, V, 3) vertices and (N, B, 3) bone heads, Anny axes, metres."""
    from p2m_model.synthesis.pose_sampling import JointLimitConfig, sample_joint_limited_poses
    from p2m_model.synthesis.shapes import PhenotypeConfig, sample_phenotypes

    rotations = sample_joint_limited_poses(rng, count, generator.skeleton, JointLimitConfig())
    phenotypes = sample_phenotypes(rng, count, PhenotypeConfig())
    model = generator.model
    vertices, heads = [], []
    for start in tqdm(range(0, count, batch_size), desc=description, unit="batch"):
        stop = min(start + batch_size, count)
        pose = torch.zeros((stop - start, rotations.shape[1], 4, 4), dtype=model.dtype)
        pose[:, :, :3, :3] = torch.as_tensor(rotations[start:stop], dtype=model.dtype)
        pose[:, :, 3, 3] = 1.0
        with torch.no_grad():
            output = model(pose, torch.as_tensor(phenotypes[start:stop], dtype=model.dtype))
        vertices.append(output["vertices"].double().cpu().numpy())
        heads.append(output["bone_poses"][..., :3, 3].double().cpu().numpy())
    return np.concatenate(vertices), np.concatenate(heads)


def _target_points(kind: str, what, heads: np.ndarray, vertices: np.ndarray,
                   bone_labels: tuple[str, ...], coco17_regressor: np.ndarray) -> np.ndarray:
    """(N, 3) target point of one H36M joint on each body."""
    if kind == "bone":
        return heads[:, bone_labels.index(what)]
    if kind == "bones":
        return np.mean([heads[:, bone_labels.index(label)] for label in what], axis=0)
    if kind == "coco":
        return np.einsum("v,nvd->nd", coco17_regressor[COCO17_JOINT_NAMES.index(what)], vertices)
    raise ValueError(f"unknown target kind {kind!r}")


def fit_h36m17_regressor(generator, coco17_regressor: np.ndarray, config: AnnyAssetConfig
                         ) -> tuple[np.ndarray, dict[str, float]]:
    """Fit the (17, V) H36M-17 regressor on random Anny bodies.

    Returns:
        the regressor (float64, rows non-negative summing to 1) and, per joint, the mean
        error in mm on ``config.check_bodies`` bodies not used for fitting.
    """
    rng = np.random.default_rng(config.seed)
    vertices, heads = _sample_bodies(generator, config.fit_bodies + config.check_bodies, rng,
                                     config.batch_size, "posing Anny bodies")
    with torch.no_grad():
        rest = generator.model(None, torch.full((1, 6), 0.5, dtype=generator.model.dtype))
    rest_vertices = rest["rest_vertices"][0].double().cpu().numpy()
    rest_heads = rest["rest_bone_heads"][0].double().cpu().numpy()
    bone_labels = generator.skeleton.bone_labels
    fit, check = slice(0, config.fit_bodies), slice(config.fit_bodies, None)
    regressor = np.zeros((len(H36M17_JOINT_NAMES), rest_vertices.shape[0]))
    errors_mm = {}
    for row, name in enumerate(tqdm(H36M17_JOINT_NAMES, desc="fitting H36M-17 regressor")):
        kind, what = H36M17_TARGETS[name]
        if kind == "head_top":
            front_view = rest_vertices @ ANNY_TO_FRONT_VIEW.T.astype(np.float64)
            regressor[row] = head_top_weights(front_view, config.head_top_radius_m)
            errors_mm[name] = 0.0  # defined on the vertices: exact by construction
            continue
        if kind == "coco":
            regressor[row] = coco17_regressor[COCO17_JOINT_NAMES.index(what)]
            errors_mm[name] = 0.0  # the COCO point is itself a vertex regressor
            continue
        targets = _target_points(kind, what, heads, vertices, bone_labels, coco17_regressor)
        rest_target = _target_points(kind, what, rest_heads[None], rest_vertices[None], bone_labels,
                                     coco17_regressor)[0]
        distance = np.linalg.norm(rest_vertices - rest_target, axis=1)
        candidates = np.sort(np.argsort(distance, kind="stable")[:config.candidate_vertices])
        regressor[row] = fit_vertex_regressor(vertices[fit], targets[fit], candidates)
        predicted = np.einsum("v,nvd->nd", regressor[row], vertices[check])
        errors_mm[name] = float(np.linalg.norm(predicted - targets[check], axis=1).mean() * MM_PER_M)
    return regressor, errors_mm


def build_anny_asset(config: AnnyAssetConfig) -> tuple[BodyModelAsset, dict[str, float]]:
    """Build the Anny asset; returns it and the per-joint H36M-17 fit errors (mm).

    Needs ``anny`` (and its cache: set ``ANNY_CACHE_DIR`` before calling).
    """
    generator = AnnyBodyGenerator(dtype=torch.float64)
    coco17_regressor = generator.coco17_regressor.cpu().numpy()
    bone_count = len(generator.skeleton.bone_labels)
    rest_pose = np.tile(np.eye(3), (1, bone_count, 1, 1))
    template = generator.generate(rest_pose, np.full((1, 6), 0.5))[0]
    h36m17_regressor, errors_mm = fit_h36m17_regressor(generator, coco17_regressor, config)
    vertex_count = template.shape[0]
    asset = BodyModelAsset(
        name="anny", version=ANNY_ASSET_VERSION, faces=generator.faces, template=template,
        coco17_regressor=coco17_regressor, h36m17_regressor=h36m17_regressor,
        hierarchy=mesh_hierarchy(generator.faces, vertex_count, config.num_coarsenings))
    return asset, errors_mm
