"""How well a training bank covers poses it has not seen: the distance to the nearest training pose.

For each query pose, the PA distance (mean joint distance after a similarity Procrustes
alignment, the PA-MPJPE of using that training pose as the answer) to the closest pose of the
reference bank. An exact search would align every pair; instead both sides are put in a torso
frame (hips give x, the spine y) at unit size, the ``candidates`` nearest in that frame are
found by plain distances, and only those are aligned exactly. The result is an upper bound of
the exact nearest distance that is tight when the torso frame is a good first alignment.
"""

from __future__ import annotations

import numpy as np
import torch

from p2m_model.body.skeletons import COCO17_JOINT_NAMES
from p2m_model.evaluation.metrics import pa_mpjpe

_LEFT_HIP, _RIGHT_HIP = COCO17_JOINT_NAMES.index("left_hip"), COCO17_JOINT_NAMES.index("right_hip")
_SHOULDERS = [COCO17_JOINT_NAMES.index("left_shoulder"), COCO17_JOINT_NAMES.index("right_shoulder")]


def torso_frame_pose(joints: np.ndarray, scored: list[int]) -> np.ndarray:
    """Joints in each body's torso frame, centred and scaled to unit RMS size.

    Args:
        joints: (N, 17, 3) COCO-17 joints.
        scored: the joint indices kept.

    Returns:
        (N, len(scored) * 3) float32 vectors.
    """
    across = joints[:, _LEFT_HIP] - joints[:, _RIGHT_HIP]
    up = joints[:, _SHOULDERS].mean(axis=1) - 0.5 * (joints[:, _LEFT_HIP] + joints[:, _RIGHT_HIP])
    x = across / np.linalg.norm(across, axis=-1, keepdims=True)
    y = up - (up * x).sum(-1, keepdims=True) * x
    y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    frame = np.stack([x, y, np.cross(x, y)], axis=1)  # N x 3 x 3, rows are the axes
    kept = joints[:, scored] - joints[:, scored].mean(axis=1, keepdims=True)
    local = np.einsum("nij,nkj->nki", frame, kept)
    local /= np.sqrt((local**2).sum(axis=(1, 2), keepdims=True) / len(scored))
    return local.reshape(len(joints), -1).astype(np.float32)


def nearest_pose_distance(
    queries: np.ndarray, references: np.ndarray, scored: list[int], candidates: int = 16, chunk: int = 256
) -> np.ndarray:
    """PA distance from every query pose to its nearest reference pose.

    Args:
        queries: (M, 17, 3) joints, metres.
        references: (N, 17, 3) joints, metres.
        scored: the joints compared.
        candidates: reference poses aligned exactly per query.
        chunk: queries per distance matrix.

    Returns:
        (M,) distances, in the joints' unit.
    """
    reference_vectors = torch.from_numpy(torso_frame_pose(references, scored))
    query_vectors = torch.from_numpy(torso_frame_pose(queries, scored))
    reference_joints = torch.as_tensor(references[:, scored], dtype=torch.float32)
    best = np.empty(len(queries))
    for start in range(0, len(queries), chunk):
        distances = torch.cdist(query_vectors[start : start + chunk], reference_vectors)  # chunk x N
        nearest = distances.topk(min(candidates, len(references)), largest=False).indices  # chunk x K
        query = torch.as_tensor(queries[start : start + chunk][:, scored], dtype=torch.float32)
        count, k = nearest.shape
        errors = pa_mpjpe(reference_joints[nearest.reshape(-1)], query.repeat_interleave(k, dim=0))
        best[start : start + count] = errors.reshape(count, k).min(dim=1).values.numpy()
    return best
