"""Largest coordinates the model accepts (no torch, so node-side validation can use them).

The predictor computes in float32 (max ~3.4e38): finite keypoints near that
limit overflow the crop box (high - low) and give NaN meshes. No camera makes
images anywhere near a million pixels wide, and a root-relative human joint is
within a few metres of the pelvis, so the limits below only reject garbage
while leaving ample headroom for keypoints outside the image.
"""
from __future__ import annotations

MAX_ABS_KEYPOINT_PX = 1e6
MAX_ABS_JOINT_M = 1e3
