"""The rig of p2m's synthetic people: a SMPL-format body (``assets/anny-v1-rig.npz``) posed by
linear blend skinning in numpy. No anny, no smplx, no torch needed.

The rig is built offline from Anny by :mod:`p2m_model.asset_builders.anny_as_smpl`. Its frame
is SMPL's: metres, Y up, Z = the subject's forward, X = the subject's left, the rest pelvis
joint at the origin, A-pose rest (Anny's). Posing follows SMPL (Loper et al. 2015) as smplx's
``lbs`` does, without pose-corrective blend shapes (the rig's ``posedirs`` are zero):

    v_shaped = v_template + shapedirs . betas;   J = J_regressor v_shaped
    G_k = G_parent(k) [R_k | J_k - J_parent(k)];  v = sum_k w_k G_k [I | -J_k] v_shaped + transl
"""

from __future__ import annotations

import dataclasses
import importlib.resources
from pathlib import Path

import numpy as np

from p2m_model.body.rotations import axis_angle_to_matrix

RIG_ASSET_NAME = "anny-v1-rig.npz"
RIG_JOINT_COUNT = 24

# Rig and SMPL axes (Y up, Z forward, X subject's left) -> the contract's front-view body
# frame (y down, facing -z): a half turn about x.
RIG_TO_FRONT_VIEW = np.diag([1.0, -1.0, -1.0]).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class RigOutput:
    """Posed bodies.

    Attributes:
        vertices: (N, V, 3) float32, metres, rig frame.
        joints: (N, 24, 3) float32 posed joint positions, metres, rig frame.
    """

    vertices: np.ndarray
    joints: np.ndarray


def shape_bodies(template: np.ndarray, shapedirs: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Rest bodies of the given shapes.

    Args:
        template: (V, 3) rest vertices, metres.
        shapedirs: (V, 3, K) shape directions.
        betas: (N, K) shape coefficients.

    Returns:
        (N, V, 3) rest vertices.
    """
    # v: vertex, d: axis, k: shape component, n: body
    return template[None] + np.einsum("vdk,nk->nvd", shapedirs, betas)


def forward_kinematics(rotations: np.ndarray, rest_joints: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """World transforms of every joint.

    Args:
        rotations: (N, J, 3, 3) rotation of each joint relative to its parent (joint 0: global).
        rest_joints: (N, J, 3) rest joint positions.
        parents: (J,) parent index of each joint, -1 for the root; parents precede children.

    Returns:
        (N, J, 4, 4) transforms G_k (rotation, and the posed joint position in the last column).
    """
    count, joint_count = rotations.shape[:2]
    offsets = rest_joints.copy()
    offsets[:, 1:] -= rest_joints[:, parents[1:]]  # N x J x 3, bone vectors from the parent
    local = np.zeros((count, joint_count, 4, 4), dtype=rotations.dtype)
    local[:, :, :3, :3] = rotations
    local[:, :, :3, 3] = offsets
    local[:, :, 3, 3] = 1.0
    world = np.empty_like(local)
    world[:, 0] = local[:, 0]
    for joint in range(1, joint_count):
        world[:, joint] = world[:, parents[joint]] @ local[:, joint]
    return world


def linear_blend_skinning(
    rest_vertices: np.ndarray, rest_joints: np.ndarray, joint_transforms: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Skin rest vertices with joint transforms.

    Args:
        rest_vertices: (N, V, 3) shaped rest vertices.
        rest_joints: (N, J, 3) rest joint positions.
        joint_transforms: (N, J, 4, 4) world transforms from :func:`forward_kinematics`.
        weights: (V, J) skinning weights, rows summing to 1.

    Returns:
        (N, V, 3) posed vertices.
    """
    # Relative transforms A_k = G_k [I | -J_k]: they move rest points, not joint-local ones.
    rotation = joint_transforms[:, :, :3, :3]  # N x J x 3 x 3
    translation = joint_transforms[:, :, :3, 3] - np.einsum("njab,njb->nja", rotation, rest_joints)
    relative = np.concatenate([rotation, translation[..., None]], axis=-1)  # N x J x 3 x 4
    count, joint_count = relative.shape[:2]
    # Blend per vertex: (V, J) @ (N, J, 12) -> N x V x 12.
    blended = (weights @ relative.reshape(count, joint_count, 12)).reshape(count, -1, 3, 4)
    return np.einsum("nvab,nvb->nva", blended[..., :3], rest_vertices) + blended[..., 3]


@dataclasses.dataclass(frozen=True)
class BodyRig:
    """A SMPL-format body model held as float32 numpy arrays.

    Attributes:
        template: (V, 3) rest vertices (``v_template``), metres, rig frame.
        shapedirs: (V, 3, K) shape directions; betas ~ N(0, 1) span the sampled bodies.
        joint_regressor: (24, V) rest joints from rest vertices (``J_regressor``).
        weights: (V, 24) skinning weights.
        parents: (24,) int64 parent of each joint, -1 for the root.
        faces: (F, 3) int64 triangles.
    """

    template: np.ndarray
    shapedirs: np.ndarray
    joint_regressor: np.ndarray
    weights: np.ndarray
    parents: np.ndarray
    faces: np.ndarray

    @classmethod
    def load(cls, path: str | Path | None = None) -> BodyRig:
        """Load a SMPL-format ``.npz``; ``None`` = the shipped ``anny-v1-rig.npz``.

        Raises:
            FileNotFoundError: naming ``path`` when it does not exist.
            ValueError: naming the file when a key is missing or a shape is wrong.
        """
        if path is None:
            resource = importlib.resources.files("p2m_model") / "assets" / RIG_ASSET_NAME
            with importlib.resources.as_file(resource) as resource_path:
                return cls.load(resource_path)
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"body rig file not found: {path}")
        with np.load(path) as data:
            missing = {"v_template", "shapedirs", "J_regressor", "weights", "kintree_table", "f"} - set(data.files)
            if missing:
                raise ValueError(f"{path} is not a SMPL-format rig: missing {sorted(missing)}")
            parents = data["kintree_table"][0].astype(np.int64)
            parents[0] = -1  # SMPL files store uint32 max there
            rig = cls(
                template=data["v_template"].astype(np.float32),
                shapedirs=data["shapedirs"].astype(np.float32),
                joint_regressor=data["J_regressor"].astype(np.float32),
                weights=data["weights"].astype(np.float32),
                parents=parents,
                faces=data["f"].astype(np.int64),
            )
        vertex_count = len(rig.template)
        if rig.joint_regressor.shape != (RIG_JOINT_COUNT, vertex_count) or rig.weights.shape != (
            vertex_count,
            RIG_JOINT_COUNT,
        ):
            raise ValueError(
                f"{path}: J_regressor {rig.joint_regressor.shape} and weights {rig.weights.shape} "
                f"must be ({RIG_JOINT_COUNT}, {vertex_count}) and ({vertex_count}, {RIG_JOINT_COUNT})"
            )
        return rig

    @property
    def shape_count(self) -> int:
        """Number of betas K."""
        return self.shapedirs.shape[-1]

    def rest_joints(self, betas: np.ndarray) -> np.ndarray:
        """(N, 24, 3) rest joint positions of bodies with shapes ``betas`` (N, K)."""
        rest = shape_bodies(self.template, self.shapedirs, np.asarray(betas, dtype=np.float32))
        return np.einsum("jv,nvd->njd", self.joint_regressor, rest)

    def pose(
        self, betas: np.ndarray, body_pose: np.ndarray, global_orient: np.ndarray, transl: np.ndarray
    ) -> RigOutput:
        """Shape and pose N bodies.

        Args:
            betas: (N, K) shape coefficients.
            body_pose: (N, 23, 3) axis-angle rotations of joints 1..23 relative to their parents,
                radians, rig frame at rest.
            global_orient: (N, 3) axis-angle rotation of the pelvis, radians.
            transl: (N, 3) translation added to every point, metres.

        Returns:
            Vertices (N, V, 3) and joints (N, 24, 3), float32, rig frame.
        """
        betas = np.asarray(betas, dtype=np.float32)
        count = len(betas)
        if betas.shape != (count, self.shape_count):
            raise ValueError(f"betas must have shape (N, {self.shape_count}), got {betas.shape}")
        if np.shape(body_pose) != (count, RIG_JOINT_COUNT - 1, 3):
            raise ValueError(
                f"body_pose must have shape ({count}, {RIG_JOINT_COUNT - 1}, 3), got {np.shape(body_pose)}"
            )
        if np.shape(global_orient) != (count, 3) or np.shape(transl) != (count, 3):
            raise ValueError(f"global_orient and transl must have shape ({count}, 3)")
        axis_angles = np.concatenate([np.asarray(global_orient)[:, None], np.asarray(body_pose)], axis=1)
        rotations = axis_angle_to_matrix(axis_angles).astype(np.float32)  # N x 24 x 3 x 3
        rest_vertices = shape_bodies(self.template, self.shapedirs, betas)
        rest_joints = np.einsum("jv,nvd->njd", self.joint_regressor, rest_vertices)
        transforms = forward_kinematics(rotations, rest_joints, self.parents)
        vertices = linear_blend_skinning(rest_vertices, rest_joints, transforms, self.weights)
        offset = np.asarray(transl, dtype=np.float32)[:, None]
        return RigOutput(
            vertices=(vertices + offset).astype(np.float32),
            joints=(transforms[:, :, :3, 3] + offset).astype(np.float32),
        )
