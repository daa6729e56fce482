"""Batched rotation helpers in numpy (no scipy, no torch), used by the pose samplers.

Conventions: rotation matrices act on column vectors, ``v' = R @ v``; axis-angle vectors
are ``angle * unit_axis`` with the angle in radians; quaternions are ``(w, x, y, z)``.
"""

import numpy as np

_EPS = 1e-9


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues' formula.

    Args:
        axis_angle: (..., 3) rotation vectors, radians.

    Returns:
        (..., 3, 3) rotation matrices.
    """
    axis_angle = np.asarray(axis_angle, dtype=np.float64)
    angle = np.linalg.norm(axis_angle, axis=-1, keepdims=True)  # (..., 1)
    axis = axis_angle / np.maximum(angle, _EPS)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    # Cross-product matrix K of the unit axis: (..., 3, 3).
    cross = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(axis.shape[:-1] + (3, 3))
    sin = np.sin(angle)[..., None]
    cos = np.cos(angle)[..., None]
    eye = np.broadcast_to(np.eye(3), cross.shape)
    return eye + sin * cross + (1.0 - cos) * (cross @ cross)


def matrix_to_axis_angle(matrix: np.ndarray) -> np.ndarray:
    """Inverse of :func:`axis_angle_to_matrix` (via quaternions, stable near 0 and pi).

    Args:
        matrix: (..., 3, 3) rotation matrices.

    Returns:
        (..., 3) rotation vectors with angles in [0, pi].
    """
    quaternion = matrix_to_quaternion(matrix)
    w = np.abs(quaternion[..., :1])
    xyz = quaternion[..., 1:] * np.sign(quaternion[..., :1] + (quaternion[..., :1] == 0))
    sin_half = np.linalg.norm(xyz, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, w)
    return xyz / np.maximum(sin_half, _EPS) * angle


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions (..., 4) as (w, x, y, z)."""
    m = np.asarray(matrix, dtype=np.float64)
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # Four candidate solutions; take for each matrix the one with the largest denominator.
    candidates = np.stack(
        [
            np.stack(
                [1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1
            ),
            np.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 0, 1] + m[..., 1, 0],
                    1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                    m[..., 1, 2] + m[..., 2, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
                ],
                -1,
            ),
        ],
        axis=-2,
    )  # (..., 4 candidates, 4)
    norms = np.linalg.norm(candidates, axis=-1)  # (..., 4)
    best = np.argmax(norms, axis=-1)[..., None, None]
    chosen = np.take_along_axis(candidates, np.broadcast_to(best, best.shape[:-2] + (1, 4)), axis=-2)[..., 0, :]
    return chosen / np.linalg.norm(chosen, axis=-1, keepdims=True)


def quaternion_to_matrix(quaternion_wxyz: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) as (w, x, y, z), normalized here, to rotation matrices (..., 3, 3)."""
    q = np.asarray(quaternion_wxyz, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        1 - 2 * (y * y + z * z),
        2 * (x * y - w * z),
        2 * (x * z + w * y),
        2 * (x * y + w * z),
        1 - 2 * (x * x + z * z),
        2 * (y * z - w * x),
        2 * (x * z - w * y),
        2 * (y * z + w * x),
        1 - 2 * (x * x + y * y),
    ]
    return np.stack(rows, axis=-1).reshape(q.shape[:-1] + (3, 3))


def rotation_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``source`` to direction ``target``.

    Args:
        source: (..., 3) directions (any length > 0).
        target: (..., 3) directions.

    Returns:
        (..., 3, 3) rotations R with R @ source/|source| = target/|target|. Opposite
        directions turn by pi about an axis perpendicular to ``source``.
    """
    a = source / np.linalg.norm(source, axis=-1, keepdims=True)
    b = target / np.linalg.norm(target, axis=-1, keepdims=True)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1, keepdims=True)
    cos = np.sum(a * b, axis=-1, keepdims=True)
    # Fallback axis for (anti)parallel directions: perpendicular to a.
    helper = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    perpendicular = np.cross(a, helper)
    perpendicular /= np.linalg.norm(perpendicular, axis=-1, keepdims=True)
    axis = np.where(sin > 1e-8, axis / np.maximum(sin, _EPS), perpendicular)
    return axis_angle_to_matrix(axis * np.arctan2(sin, cos))


def fractional_rotation(matrix: np.ndarray, fraction: float) -> np.ndarray:
    """``matrix ** fraction``: the same axis, the angle scaled by ``fraction``.

    Args:
        matrix: (..., 3, 3) rotations.
        fraction: scale of the angle (1/n splits a rotation over a chain of n bones).

    Returns:
        (..., 3, 3) rotations.
    """
    return axis_angle_to_matrix(matrix_to_axis_angle(matrix) * fraction)
