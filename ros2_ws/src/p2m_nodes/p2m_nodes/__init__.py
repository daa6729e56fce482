"""ROS 2 nodes of the p2m pipeline (2D keypoints -> 3D pose -> body mesh).

The model itself lives in the ROS-free ``p2m_model`` package; nodes here only
convert messages and call it.
"""
