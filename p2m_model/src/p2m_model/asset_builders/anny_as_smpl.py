"""Build a SMPL-format body model (.npz) from Anny: the rig of p2m's synthetic people.

Offline script, run where ``anny`` is installed (never imported by tests or inference)::

    ANNY_CACHE_DIR=/tmp/anny-cache python -m p2m_model.asset_builders.anny_as_smpl \\
        --output p2m_model/src/p2m_model/assets/anny-v1-rig.npz

The file has SMPL's keys (smplx ``SMPL`` loads it through
``smplx.SMPL(model_path=..., data_struct=smplx.utils.Struct(**np.load(path)))``):

- ``v_template`` (V, 3): Anny's default body (every phenotype 0.5, A-pose rest, about 1.63 m),
  in SMPL's axes (Y up, Z = the subject's forward, X = the subject's left), pelvis joint at
  the origin. From Anny (Z up, -Y forward, X left): x = X, y = Z, z = -Y.
- ``f`` (F, 3): Anny's triangles (``get_triangular_faces``); vertex order is Anny's, the same
  as the training data and the ``anny-v1`` asset, so that asset's regressors apply.
- ``shapedirs`` (V, 3, 10): principal directions of random Anny phenotypes
  (:func:`p2m_model.synthesis.shapes.sample_phenotypes`) around the default body, each body
  first moved so its pelvis joint is at the origin; scaled so the sampled bodies' betas have
  unit root mean square.
- ``weights`` (V, 24): Anny's skinning weights summed over the bones of each SMPL-like joint
  (:data:`SMPL_JOINT_BONES`).
- ``J_regressor`` (24, V): sparse, non-negative, rows summing to 1, fitted (NNLS) so that it
  reproduces each joint's rest position (:data:`SMPL_JOINT_BONES`) over many random bodies.
- ``kintree_table`` (2, 24): parents (root = 4294967295 as in SMPL's own files) and ids.
- ``posedirs`` (V, 3, 207): zeros; Anny has no pose-corrective blend shapes.
- ``joint_names`` (24,): SMPL's joint names.

Arrays are float32 and saved compressed: the zeros of ``posedirs`` and ``J_regressor`` take
almost no space.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from p2m_model.asset_builders.smpl import SMPL_JOINT_NAMES
from p2m_model.synthesis.shapes import PhenotypeConfig, sample_phenotypes

# Parents of SMPL's 24 joints (SMPL_JOINT_NAMES; Loper et al., SIGGRAPH Asia 2015).
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
# SMPL's files store the root's parent as uint32 max; smplx replaces it by -1 when loading.
SMPL_ROOT_PARENT_IN_FILE = 4294967295
SMPL_POSE_BASIS_SIZE = 207  # 23 joints x 9 rotation-matrix entries

# Anny bone -> SMPL joint. Each Anny bone's skinning weight goes to its joint; a joint sits at
# the rest head of the first bone listed, or at the mean of the "*-1" heads (knuckles/toe balls)
# for hand and foot. Spine: Anny's 5 spine bones rise 0.07, 0.14, 0.21, 0.34 m above the root,
# SMPL's spine1-3 about 0.11, 0.24, 0.29 m (SMPL template), so spine05 rides with the pelvis,
# spine04+03 form spine1, spine02 spine2, spine01 spine3.
_SIDE_BONES = {
    "hip": ("upperleg01", "upperleg02"),
    "knee": ("lowerleg01", "lowerleg02"),
    "ankle": ("foot",),
    # The big toe has two segments, the others three.
    "foot": ("toe1-1", "toe1-2", *(f"toe{toe}-{segment}" for toe in range(2, 6) for segment in (1, 2, 3))),
    "collar": ("clavicle", "shoulder01"),
    "shoulder": ("upperarm01", "upperarm02"),
    "elbow": ("lowerarm01", "lowerarm02"),
    "wrist": ("wrist", "metacarpal1", "metacarpal2", "metacarpal3", "metacarpal4"),
    "hand": tuple(f"finger{finger}-{segment}" for finger in range(1, 6) for segment in (1, 2, 3)),
}
_MIDLINE_BONES = {
    "pelvis": ("root", "pelvis.L", "pelvis.R", "spine05"),
    "spine1": ("spine04", "spine03"),
    "spine2": ("spine02",),
    "spine3": ("spine01",),
    "neck": ("neck01", "neck02", "neck03"),
    "head": ("head", "eye.L", "eye.R"),
}


def _joint_bones(name: str) -> tuple[str, ...]:
    if name in _MIDLINE_BONES:
        return _MIDLINE_BONES[name]
    side, part = name.split("_", 1)
    suffix = ".L" if side == "left" else ".R"
    return tuple(bone + suffix for bone in _SIDE_BONES[part])


SMPL_JOINT_BONES = {name: _joint_bones(name) for name in SMPL_JOINT_NAMES}


def _joint_location_bones(name: str) -> tuple[str, ...]:
    """Bones whose rest heads average to the joint's position."""
    bones = SMPL_JOINT_BONES[name]
    if name.endswith(("_hand", "_foot")):
        # Knuckles of fingers 2-5 (the thumb's base is at the wrist), balls of all toes.
        first = 2 if name.endswith("_hand") else 1
        return tuple(b for b in bones if "-1." in b and int(b.split("-")[0][-1]) >= first)
    return bones[:1]


# Anny (X left, Z up, -Y forward) -> SMPL (X left, Y up, Z forward): x = X, y = Z, z = -Y.
ANNY_TO_SMPL_AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclasses.dataclass(frozen=True)
class AnnyAsSmplConfig:
    """Settings of the build.

    Attributes:
        shape_body_count: random phenotypes in the shape PCA.
        regressor_body_count: random bodies the joint regressor is fitted on.
        shape_component_count: betas (SMPL has 10).
        regressor_radius_m: vertices farther than this from a joint (default body) are not used
            to regress it.
        seed: seed of the phenotype draws.
        batch_size: bodies per Anny forward pass.
    """

    shape_body_count: int = 2000
    regressor_body_count: int = 60
    shape_component_count: int = 10
    regressor_radius_m: float = 0.12
    seed: int = 0
    batch_size: int = 250


def _rest_bodies(model, phenotypes: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rest vertices (N, V, 3) and bone heads (N, B, 3) of Anny bodies, float64, Anny axes."""
    import torch

    vertices, heads = [], []
    with torch.no_grad():
        for start in range(0, len(phenotypes), batch_size):
            batch = torch.as_tensor(phenotypes[start : start + batch_size], dtype=model.dtype)
            output = model(None, batch)
            vertices.append(output["rest_vertices"].double().numpy())
            heads.append(output["rest_bone_heads"].double().numpy())
    return np.concatenate(vertices), np.concatenate(heads)


def merged_joint_positions(heads: np.ndarray, bone_labels: tuple[str, ...]) -> np.ndarray:
    """(N, 24, 3) SMPL-like joint rest positions from Anny bone heads (N, B, 3)."""
    index = {label: i for i, label in enumerate(bone_labels)}
    return np.stack(
        [heads[:, [index[b] for b in _joint_location_bones(name)]].mean(axis=1) for name in SMPL_JOINT_NAMES],
        axis=1,
    )


def merged_skinning_weights(bone_weights: np.ndarray, bone_labels: tuple[str, ...]) -> np.ndarray:
    """(V, 24) weights: Anny's (V, B) bone weights summed per SMPL joint; every bone is used once."""
    index = {label: i for i, label in enumerate(bone_labels)}
    used = [index[b] for bones in SMPL_JOINT_BONES.values() for b in bones]
    if sorted(used) != list(range(len(bone_labels))):
        raise ValueError("SMPL_JOINT_BONES must assign every Anny bone to exactly one joint")
    return np.stack(
        [bone_weights[:, [index[b] for b in SMPL_JOINT_BONES[name]]].sum(axis=1) for name in SMPL_JOINT_NAMES], axis=1
    )


def fit_joint_regressor(vertices: np.ndarray, joints: np.ndarray, radius_m: float) -> np.ndarray:
    """Sparse non-negative (J, V) regressor with rows summing to 1 such that R @ vertices ~ joints.

    Args:
        vertices: (N, V, 3) rest vertices of N bodies, metres.
        joints: (N, J, 3) their joint positions.
        radius_m: only vertices within this distance of the joint on the first body are used
            (a topological neighbourhood: on a mean over children and adults, it would not be).

    Returns:
        (J, V) float64. Each row is an NNLS solution over the N bodies' coordinates, with the
        sum-to-one constraint as a heavily weighted extra equation, then renormalised.
    """
    regressor = np.zeros((joints.shape[1], vertices.shape[1]))
    sum_weight = 1.0  # residuals are in metres: 1 mm error ~ a 0.001 error of the sum
    for joint in range(joints.shape[1]):
        distance = np.linalg.norm(vertices[0] - joints[0, joint], axis=-1)
        candidates = np.flatnonzero(distance < radius_m)
        if len(candidates) == 0:
            candidates = np.argsort(distance)[:32]
        # Equations: for each body n and axis d, sum_c w_c v[n, c, d] = joint[n, d], written
        # relative to the body's joint (valid since the weights sum to one): better conditioned.
        relative = vertices[:, candidates, :] - joints[:, joint, None, :]
        system = relative.transpose(0, 2, 1).reshape(-1, len(candidates))
        target = np.zeros(len(system))
        system = np.vstack([system, np.full((1, len(candidates)), sum_weight)])
        target = np.append(target, sum_weight)
        weights, _ = nnls(system, target, maxiter=50 * len(candidates))
        regressor[joint, candidates] = weights / weights.sum()
    return regressor


def shape_basis(deviations: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Principal directions of body deviations from the template.

    Args:
        deviations: (N, V, 3) sampled bodies minus the template, metres.
        count: number of components K.

    Returns:
        shapedirs (V, 3, K) scaled so the samples' betas have unit root mean square, and the
        fraction of the deviations' energy (sum of squares) each component explains (K,).
    """
    flat = deviations.reshape(len(deviations), -1)
    # Gram-matrix eigen-decomposition: N x N is much smaller than 3V x 3V.
    gram = flat @ flat.T
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1][:count]
    singular = np.sqrt(np.maximum(eigenvalues[order], 0.0))
    directions = (flat.T @ eigenvectors[:, order]) / singular  # (3V, K) orthonormal
    rms_beta = singular / np.sqrt(len(flat))
    shapedirs = (directions * rms_beta).reshape(deviations.shape[1], 3, count)
    return shapedirs, eigenvalues[order] / eigenvalues.sum()


def build(config: AnnyAsSmplConfig) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Build the SMPL-format arrays; returns them and fit statistics."""
    import anny
    import torch

    # "lbs": plain skinning, no warp-lang (docs/assets-and-licences.md).
    model = anny.Anny(skinning_method="lbs").to(dtype=torch.float64)
    model.requires_grad_(False)
    labels = tuple(model.bone_labels)
    rng = np.random.default_rng(config.seed)
    phenotype_config = PhenotypeConfig()

    default_vertices, default_heads = _rest_bodies(model, np.full((1, 6), 0.5), 1)
    shape_vertices, shape_heads = _rest_bodies(
        model, sample_phenotypes(rng, config.shape_body_count, phenotype_config), config.batch_size
    )
    fit_vertices, fit_heads = _rest_bodies(
        model, sample_phenotypes(rng, config.regressor_body_count, phenotype_config), config.batch_size
    )

    def to_smpl(vertices: np.ndarray, heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Pelvis joint at the origin, SMPL axes.
        joints = merged_joint_positions(heads, labels)
        pelvis = joints[:, :1]
        return (vertices - pelvis) @ ANNY_TO_SMPL_AXES.T, (joints - pelvis) @ ANNY_TO_SMPL_AXES.T

    template, _ = to_smpl(default_vertices, default_heads)
    shape_bodies, _ = to_smpl(shape_vertices, shape_heads)
    fit_bodies, fit_joints = to_smpl(fit_vertices, fit_heads)
    fit_bodies = np.concatenate([template, fit_bodies])
    fit_joints = np.concatenate([to_smpl(default_vertices, default_heads)[1], fit_joints])

    shapedirs, explained = shape_basis(shape_bodies - template, config.shape_component_count)
    regressor = fit_joint_regressor(fit_bodies, fit_joints, config.regressor_radius_m)
    weights = merged_skinning_weights(model.dense_vertex_bone_weights.numpy(), labels)
    joint_error = np.linalg.norm(np.einsum("jv,nvd->njd", regressor, fit_bodies) - fit_joints, axis=-1)

    vertex_count = template.shape[1]
    parents = np.array([SMPL_ROOT_PARENT_IN_FILE, *SMPL_PARENTS[1:]], dtype=np.int64)
    arrays = {
        "v_template": template[0].astype(np.float32),
        "f": model.get_triangular_faces().numpy().astype(np.int64),
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": np.zeros((vertex_count, 3, SMPL_POSE_BASIS_SIZE), dtype=np.float32),
        "J_regressor": regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": np.stack([parents, np.arange(len(SMPL_PARENTS), dtype=np.int64)]),
        "joint_names": np.array(SMPL_JOINT_NAMES),
    }
    stats = {
        "shape_variance_explained": float(explained.sum()),
        "regressor_max_error_m": float(joint_error.max()),
        "regressor_mean_error_m": float(joint_error.mean()),
        "regressor_nonzeros_per_joint": float((regressor > 0).sum(axis=1).mean()),
    }
    return arrays, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True, help="path of the .npz to write")
    parser.add_argument("--seed", type=int, default=AnnyAsSmplConfig.seed)
    parser.add_argument("--shape-bodies", type=int, default=AnnyAsSmplConfig.shape_body_count)
    args = parser.parse_args(argv)
    if not args.output.parent.is_dir():
        raise FileNotFoundError(f"output directory {args.output.parent} does not exist")
    arrays, stats = build(AnnyAsSmplConfig(shape_body_count=args.shape_bodies, seed=args.seed))
    np.savez_compressed(args.output, **arrays)
    for key, value in stats.items():
        print(f"{key}: {value:.6g}")
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
