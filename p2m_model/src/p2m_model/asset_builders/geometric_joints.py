"""Joint regressor rows defined by geometric rules on a rest template, for any topology.

All functions take rest vertices in the contract's front-view body frame (metres, x =
subject's left, y down, the person facing -z) and return (V,) non-negative weights that
sum to 1. They pick vertices by position, never by fixed vertex ids, so they apply to
meshes that are not SMPL's.
"""
from __future__ import annotations

import numpy as np

# Sizes of an adult head (metres), used as search radii around the head's landmarks and
# scaled by the template's height / NOMINAL_BODY_HEIGHT_M. Rounded from anthropometric
# tables (e.g. NASA-STD-3000 / ANSUR): interpupillary distance ~0.063 m, nose tip to
# eye level ~0.035 m, nose tip to the eyes' depth ~0.025 m.
NOMINAL_BODY_HEIGHT_M = 1.7
HALF_INTERPUPILLARY_M = 0.0315
NOSE_TIP_TO_EYE_LEVEL_M = 0.035
NOSE_TIP_TO_EYE_DEPTH_M = 0.025
HEAD_HALF_WIDTH_M = 0.12  # head vertices lie within this of the neck's x
HEAD_TOP_BAND_M = 0.01  # vertices this close below the highest one form the head top
EAR_LEVEL_BAND_M = 0.02  # ear = most lateral head vertex within this of eye level


def one_hot(vertex_count: int, vertices: np.ndarray) -> np.ndarray:
    """(V,) uniform weights over ``vertices`` (indices)."""
    vertices = np.atleast_1d(vertices)
    weights = np.zeros(vertex_count)
    weights[vertices] = 1.0 / vertices.size
    return weights


def head_top_weights(template: np.ndarray, band_m: float = HEAD_TOP_BAND_M) -> np.ndarray:
    """Mean of the vertices within ``band_m`` below the highest vertex (smallest y)."""
    height = template[:, 1]
    return one_hot(len(template), np.flatnonzero(height <= height.min() + band_m))


def _body_scale(template: np.ndarray) -> float:
    return float(np.ptp(template[:, 1]) / NOMINAL_BODY_HEIGHT_M)


def head_vertices(template: np.ndarray, neck: np.ndarray) -> np.ndarray:
    """Indices of the vertices above ``neck`` (3,) and within a head's half width of it in x."""
    scale = _body_scale(template)
    above = template[:, 1] < neck[1]
    near = np.abs(template[:, 0] - neck[0]) < HEAD_HALF_WIDTH_M * scale
    return np.flatnonzero(above & near)


def face_point_weights(template: np.ndarray, neck: np.ndarray) -> dict[str, np.ndarray]:
    """COCO face points by geometric rules on the rest head.

    * nose: the most forward head vertex (smallest z), the nose tip.
    * eyes: the head vertex nearest to nose tip + (+-half interpupillary distance,
      up to eye level, back to eye depth), scaled by body height.
    * ears: the most lateral head vertex (largest / smallest x) within a band around
      eye level.

    Args:
        template: (V, 3) rest vertices, front-view frame.
        neck: (3,) neck joint (the bottom of the head region).

    Returns:
        weights (V,) for "nose", "left_eye", "right_eye", "left_ear", "right_ear".
    """
    head = head_vertices(template, neck)
    if head.size == 0:
        raise ValueError("no template vertices above the neck: is the template in the front-view frame?")
    scale = _body_scale(template)
    points = template[head]
    nose = head[np.argmin(points[:, 2])]
    nose_tip = template[nose]
    weights = {"nose": one_hot(len(template), nose)}
    eye_level = nose_tip[1] - NOSE_TIP_TO_EYE_LEVEL_M * scale
    for side, sign in (("left", 1.0), ("right", -1.0)):
        target = nose_tip + scale * np.array([sign * HALF_INTERPUPILLARY_M, -NOSE_TIP_TO_EYE_LEVEL_M,
                                              NOSE_TIP_TO_EYE_DEPTH_M])
        weights[f"{side}_eye"] = one_hot(len(template), head[np.argmin(np.linalg.norm(points - target, axis=1))])
        band = head[np.abs(points[:, 1] - eye_level) < EAR_LEVEL_BAND_M * scale]
        weights[f"{side}_ear"] = one_hot(len(template), band[np.argmax(sign * template[band, 0])])
    return weights
