"""Several people of one real photo through the camera path's model side, drawn over the photo.

    python -m p2m_model.evaluation.multi_person_photo --photo tests/data/photos/opencv_basketball2.png \\
        --output docs/images/multi_person.png

What camera_source and pose2mesh_node do, without ROS: MediaPipe Tasks' PoseLandmarker
(:class:`MultiPersonPoseDetector`, up to 16 people), track ids from :class:`PoseTracker`,
then PoseNet + MeshNet for all people in one batch, each mesh placed in the camera frame
with :func:`estimate_root_translation`. The photo's camera is unknown: focal length = image
width, principal point at the centre (as photo_check). Left: the photo with each person's
COCO-17 keypoints; right: the meshes, one colour per track id.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from p2m_model.camera_placement import estimate_root_translation
from p2m_model.evaluation.figures import new_figure, save_figure
from p2m_model.inputs.keypoint_detection import MultiPersonPoseConfig, MultiPersonPoseDetector
from p2m_model.mesh_rendering import render
from p2m_model.predictor import Pose2MeshPredictor, assumed_camera_matrix
from p2m_model.tracking.tracker import PoseTracker

MESH_ALPHA = 0.65
SCORE_SHOWN = 0.3


def track_colours(track_ids: np.ndarray) -> np.ndarray:
    """(N, 3) RGB 0-255, one tab10 colour per track id."""
    from matplotlib import colormaps

    palette = np.asarray(colormaps["tab10"].colors)[:, :3] * 255.0
    return palette[np.asarray(track_ids) % len(palette)]


def people_overlay(predictor: Pose2MeshPredictor, image: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Detect, track, recover and draw every person of one RGB photo.

    Args:
        image: (H, W, 3) uint8 RGB.

    Returns:
        (overlaid image (H, W, 3) uint8, keypoints (N, 17, 2) px, scores (N, 17), track ids (N,)).

    Raises:
        ValueError: nobody was found.
    """
    height, width = image.shape[:2]
    with MultiPersonPoseDetector(MultiPersonPoseConfig(video_mode=False)) as detector:
        keypoints, scores = detector.detect(image)
    if len(keypoints) == 0:
        raise ValueError("MediaPipe found no person in the image")
    track_ids = PoseTracker().update(keypoints, scores, 0.0)
    camera_matrix = assumed_camera_matrix((width, height))
    result = predictor.predict(keypoints, scores, (width, height), camera_matrix)
    roots = estimate_root_translation(result.pose3d_coco, keypoints, scores, camera_matrix)
    drawn = render(result.vertices + roots[:, None], result.faces, camera_matrix, (width, height),
                   track_colours(track_ids), background=image)
    covered = np.any(drawn != image, axis=-1)
    blended = image.copy()
    blended[covered] = ((1.0 - MESH_ALPHA) * image[covered] + MESH_ALPHA * drawn[covered]).astype(np.uint8)
    return blended, keypoints, scores, track_ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2m_model.evaluation.multi_person_photo",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", required=True, help="RGB or grey image file with people")
    parser.add_argument("--output", required=True, help="PNG to write")
    parser.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint")
    args = parser.parse_args(argv)

    from skimage import io

    image = io.imread(args.photo)
    image = np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image[..., :3]
    predictor = Pose2MeshPredictor.from_checkpoint(args.checkpoint, device="cpu")
    drawn, keypoints, scores, track_ids = people_overlay(predictor, image)
    colours = track_colours(track_ids) / 255.0
    figure, grid = new_figure(1, 2, figsize=(12, 4.8))
    grid[0].imshow(image)
    for person, colour, track_id in zip(range(len(keypoints)), colours, track_ids):
        seen = scores[person] > SCORE_SHOWN
        grid[0].scatter(*keypoints[person, seen].T, s=14, color=colour, edgecolors="k", label=f"id {track_id}")
    grid[0].legend(loc="lower center", fontsize=8)
    grid[0].set_title(f"{Path(args.photo).name}: {len(keypoints)} people, MediaPipe COCO-17 "
                      f"(score > {SCORE_SHOWN})", fontsize=9)
    grid[1].imshow(drawn)
    grid[1].set_title("recovered meshes, one colour per track id (focal length = width)", fontsize=9)
    for axes in grid:
        axes.axis("off")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    save_figure(figure, args.output, dpi=90)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
