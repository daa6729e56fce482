"""Where 2D keypoints come from: MediaPipe on images, keypoint files."""
