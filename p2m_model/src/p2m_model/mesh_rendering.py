"""A small numpy rasteriser for body meshes: Lambert-shaded images and overlays. No OpenGL.

Each visible triangle (front-facing, in front of the camera) is sampled on a barycentric grid
fine enough that neighbouring samples land at most about one pixel apart; every sample writes
``(depth, face)`` into a z-buffer with ``np.minimum.at``, so the nearest surface wins per pixel
(a point-sampled z-buffer rather than painter's ordering: no sort, no per-triangle Python).
Shading is Lambertian with the light at the camera: ambient + diffuse * |cos(normal, view)|.

Camera axes follow docs/design-contracts.md: x right, y down, z forward, metres; pixels (u, v)
with u right and v down, the image ``(height, width, 3)`` RGB uint8.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Depth is stored in units of 0.1 mm in the high 32 bits of the z-buffer key.
_DEPTH_UNITS_PER_M = 1e4
_FACE_BITS = 32
_EMPTY = np.iinfo(np.int64).max


@dataclasses.dataclass(frozen=True)
class ShadingConfig:
    """Lambert shading and sampling.

    Attributes:
        ambient: share of the colour lit regardless of orientation.
        diffuse: share lit by the camera-side light, times |cos|.
        near_m: triangles with a vertex closer than this to the camera plane are skipped.
        samples_per_pixel: barycentric samples per pixel of triangle edge (over 1 avoids holes).
        max_subdivision: cap on grid steps per triangle edge (a very near triangle is coarse).
    """

    ambient: float = 0.35
    diffuse: float = 0.65
    near_m: float = 0.05
    samples_per_pixel: float = 1.5
    max_subdivision: int = 48


def _barycentric_grid(steps: int) -> np.ndarray:
    """(P, 3) barycentric points i/s, j/s, 1 - i/s - j/s with i + j <= s."""
    i, j = np.meshgrid(np.arange(steps + 1), np.arange(steps + 1), indexing="ij")
    keep = i + j <= steps
    a, b = i[keep] / steps, j[keep] / steps
    return np.stack([a, b, 1.0 - a - b], axis=-1)


def rasterize(
    vertices_cam: np.ndarray,
    faces: np.ndarray,
    intrinsics: np.ndarray,
    image_size: tuple[int, int],
    config: ShadingConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which triangle is seen at each pixel.

    Args:
        vertices_cam: (N, V, 3) vertices of N meshes in the camera frame, metres.
        faces: (F, 3) triangles shared by the meshes, wound counter-clockwise seen from outside.
        intrinsics: (3, 3) camera matrix K.
        image_size: (width, height) pixels.

    Returns:
        face_map (H, W) int64: index into the N*F stacked faces (mesh n's face f is n*F + f),
        -1 where no mesh is seen; depth_m (H, W) float32, inf where empty.
    """
    config = config or ShadingConfig()
    width, height = image_size
    count, vertex_count = vertices_cam.shape[:2]
    points = vertices_cam.reshape(-1, 3).astype(np.float32)  # N*V x 3
    all_faces = (faces[None] + vertex_count * np.arange(count)[:, None, None]).reshape(-1, 3)  # N*F x 3
    # Project every vertex once; per-corner arrays avoid slow reductions over a size-3 axis.
    pixels = points[:, :2] / np.maximum(points[:, 2:3], 1e-9) @ intrinsics[:2, :2].T.astype(np.float32) + intrinsics[
        :2, 2
    ].astype(np.float32)  # N*V x 2
    a, b, c = all_faces[:, 0], all_faces[:, 1], all_faces[:, 2]
    normals = np.cross(points[b] - points[a], points[c] - points[a])
    near = np.minimum(np.minimum(points[a, 2], points[b, 2]), points[c, 2])
    low = np.minimum(np.minimum(pixels[a], pixels[b]), pixels[c])
    high = np.maximum(np.maximum(pixels[a], pixels[b]), pixels[c])
    visible = (
        (near > config.near_m)
        & (np.einsum("fd,fd->f", normals, points[a]) < 0.0)  # front-facing
        & (high[:, 0] >= 0)
        & (high[:, 1] >= 0)
        & (low[:, 0] < width)
        & (low[:, 1] < height)
    )
    face_ids = np.flatnonzero(visible)
    extent_px = (high[face_ids] - low[face_ids]).max(axis=1)  # bounds the longest edge within sqrt(2)
    steps = np.clip(np.ceil(extent_px * config.samples_per_pixel), 1, config.max_subdivision).astype(np.int64)
    corner_uvz = np.concatenate([pixels, points[:, 2:3]], axis=1)[all_faces[face_ids]]  # visible x 3 x 3

    zbuffer = np.full(width * height, _EMPTY, dtype=np.int64)
    for step in np.unique(steps):
        in_group = steps == step
        group = face_ids[in_group]
        # Interpolate u, v and depth linearly over the triangle: fine at these sizes.
        uvz = _barycentric_grid(int(step)) @ corner_uvz[in_group]  # G x P x 3
        column = uvz[..., 0].astype(np.int64)
        row = uvz[..., 1].astype(np.int64)
        inside = (uvz[..., 0] >= 0) & (column < width) & (uvz[..., 1] >= 0) & (row < height)
        keys = ((uvz[..., 2] * _DEPTH_UNITS_PER_M).astype(np.int64) << _FACE_BITS) | group[:, None]
        np.minimum.at(zbuffer, (row * width + column)[inside], keys[inside])
    filled = zbuffer != _EMPTY
    face_map = np.where(filled, zbuffer & ((1 << _FACE_BITS) - 1), -1).reshape(height, width)
    depth_m = np.where(filled, (zbuffer >> _FACE_BITS) / _DEPTH_UNITS_PER_M, np.inf).reshape(height, width)
    return face_map, depth_m.astype(np.float32)


def shade_faces(
    vertices_cam: np.ndarray, faces: np.ndarray, face_ids: np.ndarray, colours: np.ndarray, config: ShadingConfig
) -> np.ndarray:
    """RGB in [0, 255] of some faces, Lambert-lit from the camera.

    Args:
        vertices_cam: (N, V, 3) camera-frame vertices; faces: (F, 3).
        face_ids: (M,) indices into the N*F stacked faces (as in :func:`rasterize`).
        colours: (N, 3) RGB 0-255 of each mesh.

    Returns:
        (M, 3) float64.
    """
    mesh, face = np.divmod(face_ids, len(faces))
    corners = vertices_cam[mesh[:, None], faces[face]]  # M x 3 corners x 3
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    view = corners.sum(axis=1)
    cosine = np.abs(np.einsum("md,md->m", normals, view)) / np.maximum(
        np.linalg.norm(normals, axis=-1) * np.linalg.norm(view, axis=-1), 1e-12
    )
    light = config.ambient + config.diffuse * cosine  # M
    return light[:, None] * np.asarray(colours, dtype=np.float64)[mesh]


def _shade_pixels(
    face_map: np.ndarray, vertices_cam: np.ndarray, faces: np.ndarray, colours: np.ndarray, config: ShadingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Mask (H, W) of covered pixels and their (M, 3) float colours; each seen face shaded once."""
    seen = face_map >= 0
    seen_faces, pixel_face = np.unique(face_map[seen], return_inverse=True)
    return seen, shade_faces(vertices_cam, faces, seen_faces, colours, config)[pixel_face]


def render(
    vertices_cam: np.ndarray,
    faces: np.ndarray,
    intrinsics: np.ndarray,
    image_size: tuple[int, int],
    colours: np.ndarray,
    background: np.ndarray | tuple[int, int, int] = (40, 40, 48),
    config: ShadingConfig | None = None,
) -> np.ndarray:
    """Draw N meshes, each in its own colour, over a background.

    Args:
        vertices_cam: (N, V, 3) camera-frame vertices, metres.
        faces: (F, 3) triangles.
        intrinsics: (3, 3) K.
        image_size: (width, height) pixels.
        colours: (N, 3) RGB 0-255 of each mesh.
        background: an RGB colour, or an (H, W, 3) uint8 image.

    Returns:
        (H, W, 3) uint8 RGB image.
    """
    config = config or ShadingConfig()
    width, height = image_size
    face_map, _ = rasterize(vertices_cam, faces, intrinsics, image_size, config)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = np.asarray(background, dtype=np.uint8)
    seen, shaded = _shade_pixels(face_map, vertices_cam, faces, np.asarray(colours).reshape(-1, 3), config)
    image[seen] = np.clip(shaded, 0, 255).astype(np.uint8)
    return image


def overlay(
    image: np.ndarray,
    vertices_cam: np.ndarray,
    faces: np.ndarray,
    intrinsics: np.ndarray,
    colour: tuple[int, int, int] = (120, 180, 255),
    alpha: float = 0.6,
    config: ShadingConfig | None = None,
) -> np.ndarray:
    """Blend shaded meshes over an image (e.g. recovered meshes over the camera image).

    Args:
        image: (H, W, 3) uint8 RGB.
        vertices_cam: (N, V, 3) camera-frame vertices, metres.
        faces: (F, 3) triangles.
        intrinsics: (3, 3) K of the camera that took ``image``.
        colour: RGB 0-255 of every mesh.
        alpha: opacity of the meshes in [0, 1].

    Returns:
        (H, W, 3) uint8 RGB, a new image.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    config = config or ShadingConfig()
    height, width = image.shape[:2]
    face_map, _ = rasterize(vertices_cam, faces, intrinsics, (width, height), config)
    colours = np.tile(np.asarray(colour, dtype=np.float64), (len(vertices_cam), 1))
    seen, shaded = _shade_pixels(face_map, vertices_cam, faces, colours, config)
    result = image.copy()
    result[seen] = np.clip((1.0 - alpha) * image[seen] + alpha * shaded, 0, 255).astype(np.uint8)
    return result
