"""Real photos through the whole model: MediaPipe keypoints -> mesh -> drawn over the photo.

    python -m p2m_model.evaluation.photo_check --output docs/images/real_photos.png

The photos ship inside scikit-image: ``camera.png`` (CC0, a man with a camera,
head to thigh) and ``astronaut.png`` (NASA, public domain, upper body). Their
cameras are unknown, so the intrinsics are assumed: focal length = image width
(a ~53 degree field of view), principal point at the centre. The mesh is placed
with :func:`~p2m_model.camera_placement.estimate_root_translation` from the
model's own joints and the detected keypoints under that camera.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from p2m_model.camera_placement import estimate_root_translation
from p2m_model.evaluation.figures import new_figure, save_figure
from p2m_model.inputs.keypoint_detection import MediaPipePoseConfig, MediaPipePoseDetector
from p2m_model.mesh_rendering import overlay
from p2m_model.predictor import Pose2MeshPredictor, assumed_camera_matrix

PHOTOS = ("camera", "astronaut")
MESH_COLOUR = (90, 140, 255)


def photo_overlay(predictor: Pose2MeshPredictor, detector: MediaPipePoseDetector,
                  image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detect, recover and draw the person of one RGB photo.

    Args:
        image: (H, W, 3) uint8 RGB.

    Returns:
        (overlaid image (H, W, 3) uint8, keypoints (17, 2) px, scores (17,)).

    Raises:
        ValueError: MediaPipe found nobody.
    """
    height, width = image.shape[:2]
    keypoints, scores = detector.detect(image)
    if len(keypoints) == 0:
        raise ValueError("MediaPipe found no person in the image")
    camera_matrix = assumed_camera_matrix((width, height))
    result = predictor.predict(keypoints, scores, (width, height), camera_matrix)
    coco_joints = np.einsum("jv,nvc->njc", predictor.asset.coco17_regressor, result.vertices)
    root = estimate_root_translation(coco_joints, keypoints, scores, camera_matrix)
    drawn = overlay(image, result.vertices + root[:, None], result.faces, camera_matrix,
                    MESH_COLOUR, 0.65)
    return drawn, keypoints[0], scores[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2m_model.evaluation.photo_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="PNG to write")
    parser.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint")
    args = parser.parse_args(argv)

    from skimage import data

    predictor = Pose2MeshPredictor.from_checkpoint(args.checkpoint, device="cpu")
    detector = MediaPipePoseDetector(MediaPipePoseConfig(static_image_mode=True))
    figure, grid = new_figure(2, len(PHOTOS), figsize=(5 * len(PHOTOS), 10))
    for column, name in enumerate(PHOTOS):
        image = getattr(data, name)()
        if image.ndim == 2:  # camera.png is greyscale
            image = np.repeat(image[..., None], 3, axis=-1)
        drawn, keypoints, scores = photo_overlay(predictor, detector, image)
        grid[0, column].imshow(image)
        grid[0, column].scatter(*keypoints[scores > 0.3].T, s=14, c="yellow", edgecolors="k")
        grid[0, column].set_title(f"{name}.png + MediaPipe COCO-17 (score > 0.3)", fontsize=9)
        grid[1, column].imshow(drawn)
        grid[1, column].set_title("recovered mesh (assumed focal length = width)", fontsize=9)
        for axes in grid[:, column]:
            axes.axis("off")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    save_figure(figure, args.output, dpi=90)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
