"""Build a body-model asset from the user's own SMPL model file, through ``smplx``.

SMPL files are licence-gated: p2m never ships or downloads one. Accepted files:

* ``.pkl`` as distributed by SMPL's authors: loaded without chumpy by
  :class:`_ChumpyFreeUnpickler` (chumpy arrays become numpy arrays, old scipy sparse module
  paths are mapped to ``scipy.sparse``);
* ``.npz`` with SMPL's keys (``v_template``, ``f``, ``shapedirs``, ``posedirs``,
  ``J_regressor``, ``weights``, ``kintree_table``).

What the asset holds (docs/design-contracts.md):

* template: ``smplx.SMPL`` at zero shape and pose, turned from SMPL's axes (Y up, Z = the
  subject's forward, X = the subject's left) to the front-view frame: x = X, y = -Y, z = -Z;
  relative to the mid-point of the asset's COCO hips (the contract's root, as for Anny).
* COCO-17 body joints (shoulders, elbows, wrists, hips, knees, ankles): SMPL's own
  ``J_regressor`` rows. Face points (nose, eyes, ears): geometric rules on the rest head
  (:func:`p2m_model.asset_builders.geometric_joints.face_point_weights`), never fixed
  SMPL vertex ids, so other topologies in SMPL format work too.
* H36M-17: pelvis, hips, knees, ankles, neck, shoulders, elbows, wrists from the
  ``J_regressor``; torso = mid-point of pelvis and neck (as in the Anny asset); nose = the
  COCO nose; head = the top of the skull
  (:func:`~p2m_model.asset_builders.geometric_joints.head_top_weights`).
* hierarchy: :func:`p2m_model.body.coarsening.mesh_hierarchy` of the faces.
* version: ``smpl-`` + the first 12 hex digits of the SHA-256 of the faces (int64).
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import scipy.sparse
import torch

from p2m_model.asset_builders.geometric_joints import face_point_weights, head_top_weights
from p2m_model.body.asset import BodyModelAsset
from p2m_model.body.coarsening import DEFAULT_NUM_COARSENINGS, mesh_hierarchy
from p2m_model.body.rig import RIG_TO_FRONT_VIEW
from p2m_model.body.skeletons import COCO17_JOINT_NAMES, COCO17_PELVIS_JOINTS, H36M17_JOINT_NAMES

# SMPL's 24 joints in its files' order (Loper et al., SIGGRAPH Asia 2015; smplx/joint_names.py).
SMPL_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)
SMPL_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")

class _ChumpyArray:
    """Stand-in for a pickled chumpy object; its state holds the value as ``x``."""

    def __setstate__(self, state: dict) -> None:
        self.state = state

    def to_numpy(self) -> np.ndarray:
        if "x" not in self.state:
            raise ValueError(f"a chumpy object without a value (keys {sorted(self.state)})")
        return np.asarray(self.state["x"])


class _ChumpyFreeUnpickler(pickle.Unpickler):
    """Unpickles SMPL's (Python 2) pickles without importing chumpy."""

    def find_class(self, module: str, name: str):
        if module.startswith("chumpy"):
            return _ChumpyArray
        if module.startswith("scipy.sparse"):
            return getattr(scipy.sparse, name)
        return super().find_class(module, name)


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, _ChumpyArray):
        return value.to_numpy()
    if scipy.sparse.issparse(value):
        return value.toarray()
    return np.asarray(value)


def load_smpl_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The SMPL arrays of a ``.pkl`` (chumpy-free) or ``.npz`` file, as numpy.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable, or a key of :data:`SMPL_KEYS` missing; names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SMPL model file not found: {path}")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                raw = {key: data[key] for key in data.files}
        else:
            with open(path, "rb") as stream:
                raw = _ChumpyFreeUnpickler(stream, encoding="latin1").load()
    except Exception as error:  # any unpickling or zip error means "not a SMPL file"
        raise ValueError(f"{path}: not a readable SMPL model file ({type(error).__name__}: {error})") from error
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a dictionary of SMPL arrays, got {type(raw).__name__}")
    missing = [key for key in SMPL_KEYS if key not in raw]
    if missing:
        raise ValueError(f"{path}: missing SMPL arrays {missing}")
    try:
        return {key: _as_numpy(raw[key]) for key in SMPL_KEYS}
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def _rest_body(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Posed through smplx at zero shape and pose: (V, 3) vertices, (24, V) J_regressor."""
    import smplx

    model = smplx.SMPL(model_path="", data_struct=smplx.utils.Struct(**arrays),
                       num_betas=min(10, arrays["shapedirs"].shape[-1]), dtype=torch.float64)
    with torch.no_grad():
        output = model(global_orient=torch.zeros(1, 3, dtype=torch.float64),
                       body_pose=torch.zeros(1, 69, dtype=torch.float64),
                       betas=torch.zeros(1, model.num_betas, dtype=torch.float64))
    return output.vertices[0].numpy(), model.J_regressor.double().numpy()


def smpl_regressors(template: np.ndarray, joint_regressor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 and H36M-17 regressors (17, V) from SMPL's joints and geometric face rules.

    Args:
        template: (V, 3) rest vertices, front-view frame.
        joint_regressor: (24, V) SMPL ``J_regressor``.
    """
    smpl = {name: joint_regressor[i] for i, name in enumerate(SMPL_JOINT_NAMES)}
    neck = smpl["neck"] @ template
    face = face_point_weights(template, neck)
    coco = np.stack([face[name] if name in face else smpl[name] for name in COCO17_JOINT_NAMES])
    special = {
        "torso": 0.5 * (smpl["pelvis"] + smpl["neck"]),
        "nose": face["nose"],
        "head": head_top_weights(template),
    }
    h36m = np.stack([special.get(name, smpl.get(name)) for name in H36M17_JOINT_NAMES])
    return coco, h36m


def build_smpl_asset(path: str | os.PathLike, num_coarsenings: int = DEFAULT_NUM_COARSENINGS) -> BodyModelAsset:
    """Build a :class:`BodyModelAsset` from a SMPL model file (see the module docstring).

    Raises:
        FileNotFoundError / ValueError: as :func:`load_smpl_arrays`, or when the model's
            arrays are inconsistent (the message names the file).
    """
    arrays = load_smpl_arrays(path)
    faces = arrays["f"].astype(np.int64)
    try:
        vertices, joint_regressor = _rest_body(arrays)
    except (RuntimeError, ValueError, IndexError) as error:
        raise ValueError(f"{path}: smplx cannot pose this model ({error})") from error
    template = vertices @ RIG_TO_FRONT_VIEW.T  # the rig's axes are SMPL's
    if (joint_regressor < 0).any():
        raise ValueError(f"{path}: J_regressor has negative weights")
    coco, h36m = smpl_regressors(template, joint_regressor)
    template = template - (coco[list(COCO17_PELVIS_JOINTS)] @ template).mean(axis=0)
    version = "smpl-" + hashlib.sha256(faces.tobytes()).hexdigest()[:12]
    try:
        return BodyModelAsset(name="smpl", version=version, faces=faces, template=template,
                              coco17_regressor=coco, h36m17_regressor=h36m,
                              hierarchy=mesh_hierarchy(faces, len(template), num_coarsenings))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
