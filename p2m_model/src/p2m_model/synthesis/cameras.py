"""Random pinhole cameras looking at a person, and projection. No anny.

Camera axes follow docs/design-contracts.md: x right, y down, z forward (optical frame).
Bodies come in the front-view body frame (same axes, the person facing the camera, root at
the origin); a camera is the rigid map p_cam = R p_body + t with R turning the body to the view.
"""

import dataclasses

import numpy as np

from p2m_model.body.rotations import axis_angle_to_matrix

_X_AXIS = np.array([1.0, 0.0, 0.0])
_Y_AXIS = np.array([0.0, 1.0, 0.0])


@dataclasses.dataclass(frozen=True)
class CameraConfig:
    """Distribution of cameras.

    Attributes:
        focal_range_px: focal length (fx = fy), pixels.
        image_sizes: candidate (width, height) in pixels, drawn uniformly.
        azimuth_range_deg: turn of the body about the vertical axis (0 = seen from the front).
        elevation_range_deg: camera height angle, positive = looking down on the person.
        distance_range_m: camera-to-root distance.
        person_height_fraction_range: bounds on body height / image height (a 1.7 m body),
            which narrow the distance range so the person is neither a speck nor all cut off.
        principal_point_jitter: std of the principal point from the centre, fraction of size.
        root_offset_std: std of the root's image position from the principal point, fraction
            of the image size; with large draws the person is partly outside the image.
    """

    focal_range_px: tuple[float, float] = (500.0, 1500.0)
    image_sizes: tuple[tuple[int, int], ...] = (
        (640, 480),
        (480, 640),
        (1024, 768),
        (1280, 720),
        (720, 1280),
        (1920, 1080),
    )
    azimuth_range_deg: tuple[float, float] = (0.0, 360.0)
    elevation_range_deg: tuple[float, float] = (-15.0, 45.0)
    distance_range_m: tuple[float, float] = (2.0, 8.0)
    person_height_fraction_range: tuple[float, float] = (0.25, 1.1)
    principal_point_jitter: float = 0.02
    root_offset_std: float = 0.12


# Height used only to turn the height fraction bounds into distances.
_NOMINAL_PERSON_HEIGHT_M = 1.7


@dataclasses.dataclass(frozen=True)
class Camera:
    """A pinhole camera and the pose of the body in it.

    Attributes:
        rotation: (3, 3) body-to-camera rotation.
        translation: (3,) root position in the camera frame, metres.
        focal_px: focal length (fx = fy), pixels.
        principal_point_px: (2,) pixels.
        image_size: (2,) width, height, pixels.
        azimuth_deg, elevation_deg: the view that made ``rotation``.
    """

    rotation: np.ndarray
    translation: np.ndarray
    focal_px: float
    principal_point_px: np.ndarray
    image_size: np.ndarray
    azimuth_deg: float
    elevation_deg: float

    @property
    def intrinsics(self) -> np.ndarray:
        """(3, 3) calibration matrix K."""
        return np.array(
            [
                [self.focal_px, 0.0, self.principal_point_px[0]],
                [0.0, self.focal_px, self.principal_point_px[1]],
                [0.0, 0.0, 1.0],
            ]
        )


def view_rotation(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """(3, 3) rotation turning a front-view body by ``azimuth_deg`` about its vertical (y) axis,
    then tilting it as seen from a camera ``elevation_deg`` above the root (about camera x)."""
    turn = axis_angle_to_matrix(np.deg2rad(azimuth_deg) * _Y_AXIS)
    # Seen from above, the body's top (-y) leans away from the camera (+z): a negative turn about x.
    tilt = axis_angle_to_matrix(-np.deg2rad(elevation_deg) * _X_AXIS)
    return tilt @ turn


def sample_camera(rng: np.random.Generator, config: CameraConfig) -> Camera:
    """Draw one camera looking at a body whose root is at the body-frame origin."""
    width, height = config.image_sizes[rng.integers(len(config.image_sizes))]
    image_size = np.array([width, height], dtype=np.float64)
    focal = rng.uniform(*config.focal_range_px)
    near = focal * _NOMINAL_PERSON_HEIGHT_M / (config.person_height_fraction_range[1] * height)
    far = focal * _NOMINAL_PERSON_HEIGHT_M / (config.person_height_fraction_range[0] * height)
    low = min(max(config.distance_range_m[0], near), config.distance_range_m[1])
    high = max(min(config.distance_range_m[1], far), low)
    distance = rng.uniform(low, high)
    principal_point = image_size / 2.0 + rng.normal(scale=config.principal_point_jitter, size=2) * image_size
    root_pixel_offset = rng.normal(scale=config.root_offset_std, size=2) * image_size
    azimuth = rng.uniform(*config.azimuth_range_deg)
    elevation = rng.uniform(*config.elevation_range_deg)
    translation = np.array([*(root_pixel_offset * distance / focal), distance])
    return Camera(
        view_rotation(azimuth, elevation), translation, focal, principal_point, image_size, azimuth, elevation
    )


def project(points_camera: np.ndarray, focal_px: float, principal_point_px: np.ndarray) -> np.ndarray:
    """Pinhole projection.

    Args:
        points_camera: (..., 3) points in the camera frame, metres, z > 0.
        focal_px: focal length, pixels.
        principal_point_px: (2,) pixels.

    Returns:
        (..., 2) pixel coordinates (u right, v down).
    """
    return focal_px * points_camera[..., :2] / points_camera[..., 2:3] + principal_point_px


def unproject(pixels: np.ndarray, depth_m: np.ndarray, focal_px: float, principal_point_px: np.ndarray) -> np.ndarray:
    """Inverse of :func:`project` given each point's depth.

    Args:
        pixels: (..., 2) pixel coordinates.
        depth_m: (...,) z of each point in the camera frame.

    Returns:
        (..., 3) points in the camera frame.
    """
    xy = (pixels - principal_point_px) / focal_px * depth_m[..., None]
    return np.concatenate([xy, depth_m[..., None]], axis=-1)
