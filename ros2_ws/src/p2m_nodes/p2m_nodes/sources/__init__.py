"""Nodes that publish ``keypoints_2d``: camera_source (MediaPipe on images), file_source
(COCO results / sequence files) and synthetic_source (procedural people with ground truth).
See docs/sources.md."""
