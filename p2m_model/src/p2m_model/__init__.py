"""p2m_model: 2D keypoints to 3D pose and body mesh (after Pose2Mesh), without ROS."""

__version__ = "0.1.0"
