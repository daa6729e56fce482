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
_Z_AXIS = np.array([0.0, 0.0, 1.0])


@dataclasses.dataclass(frozen=True)
class CameraConfig:
    """Distribution of cameras.

    Attributes:
        focal_range_px: focal length (fx = fy), pixels.
        image_sizes: candidate (width, height) in pixels, drawn uniformly.
        azimuth_range_deg: turn of the body about the vertical axis (0 = seen from the front).
        elevation_range_deg: camera height angle, positive = above the root, looking down on
            the person (a robot's head camera at 1.0-1.6 m sees people from slightly above).
        roll_std_deg: std of the camera's roll about its optical axis.
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
    roll_std_deg: float = 3.0
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


def view_rotations(
    azimuth_deg: np.ndarray, elevation_deg: np.ndarray, roll_deg: np.ndarray | float = 0.0
) -> np.ndarray:
    """(..., 3, 3) rotations turning a front-view body by ``azimuth_deg`` about its vertical (y)
    axis, then tilting it as seen from a camera ``elevation_deg`` above the root (about camera x),
    then rolling the camera by ``roll_deg`` about its optical axis (z)."""
    azimuth, elevation, roll = np.broadcast_arrays(
        np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg), np.deg2rad(roll_deg)
    )
    turn = axis_angle_to_matrix(azimuth[..., None] * _Y_AXIS)
    # Seen from above, the body's top (-y) comes toward the camera (-z): a positive turn about x
    # takes -y to (0, -cos e, -sin e).
    tilt = axis_angle_to_matrix(elevation[..., None] * _X_AXIS)
    spin = axis_angle_to_matrix(roll[..., None] * _Z_AXIS)
    return spin @ tilt @ turn


@dataclasses.dataclass(frozen=True)
class CameraBatch:
    """N pinhole cameras and the pose of a body in each (arrays of :class:`Camera` fields).

    Attributes:
        rotation: (N, 3, 3) body-to-camera rotations.
        translation: (N, 3) root positions in the camera frame, metres.
        focal_px: (N,) focal lengths (fx = fy), pixels.
        principal_point_px: (N, 2) pixels.
        image_size: (N, 2) width, height, pixels.
        azimuth_deg, elevation_deg, roll_deg: (N,) the views that made ``rotation``.
    """

    rotation: np.ndarray
    translation: np.ndarray
    focal_px: np.ndarray
    principal_point_px: np.ndarray
    image_size: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    roll_deg: np.ndarray

    def __len__(self) -> int:
        return len(self.focal_px)

    def camera(self, index: int) -> Camera:
        """Camera ``index`` as a :class:`Camera`."""
        return Camera(
            self.rotation[index],
            self.translation[index],
            float(self.focal_px[index]),
            self.principal_point_px[index],
            self.image_size[index],
            float(self.azimuth_deg[index]),
            float(self.elevation_deg[index]),
        )


def sample_cameras(rng: np.random.Generator, count: int, config: CameraConfig) -> CameraBatch:
    """Draw ``count`` cameras, each looking at a body whose root is at the body-frame origin."""
    sizes = np.asarray(config.image_sizes, dtype=np.float64)
    image_size = sizes[rng.integers(len(sizes), size=count)]  # N x 2
    height = image_size[:, 1]
    focal = rng.uniform(*config.focal_range_px, size=count)
    near = focal * _NOMINAL_PERSON_HEIGHT_M / (config.person_height_fraction_range[1] * height)
    far = focal * _NOMINAL_PERSON_HEIGHT_M / (config.person_height_fraction_range[0] * height)
    low = np.minimum(np.maximum(config.distance_range_m[0], near), config.distance_range_m[1])
    high = np.maximum(np.minimum(config.distance_range_m[1], far), low)
    distance = rng.uniform(low, high)
    principal_point = image_size / 2.0 + rng.normal(scale=config.principal_point_jitter, size=(count, 2)) * image_size
    root_pixel_offset = rng.normal(scale=config.root_offset_std, size=(count, 2)) * image_size
    azimuth = rng.uniform(*config.azimuth_range_deg, size=count)
    elevation = rng.uniform(*config.elevation_range_deg, size=count)
    roll = rng.normal(scale=config.roll_std_deg, size=count)
    translation = np.concatenate([root_pixel_offset * (distance / focal)[:, None], distance[:, None]], axis=1)
    rotation = view_rotations(azimuth, elevation, roll)
    return CameraBatch(rotation, translation, focal, principal_point, image_size, azimuth, elevation, roll)


def sample_camera(rng: np.random.Generator, config: CameraConfig) -> Camera:
    """Draw one camera looking at a body whose root is at the body-frame origin."""
    return sample_cameras(rng, 1, config).camera(0)


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
