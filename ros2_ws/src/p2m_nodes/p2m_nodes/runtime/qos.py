"""QoS profiles of the p2m topics, one place for every node (publishers and subscribers).

- Keypoints, poses, meshes, markers: reliable, keep last 10, volatile. Reliable
  so a slow consumer gets whole frames rather than gaps; depth 10 bounds the
  queue so a stalled consumer drops old frames instead of growing memory.
- Images and CameraInfo from cameras: the sensor-data profile (best effort,
  keep last 5), which is what camera drivers publish with; a reliable
  subscriber would not match a best-effort publisher.
- Mesh topology: reliable, keep last 1, transient local, so a late joiner gets
  the faces that were published once.
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

STREAM_DEPTH = 10

# /keypoints_2d, /pose_3d, /human_mesh, /human_mesh/markers, /diagnostics.
STREAM_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=STREAM_DEPTH,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)

# Images and camera_info.
SENSOR_QOS = qos_profile_sensor_data

# Images into a slow consumer (camera_source's detector): best effort like SENSOR_QOS, but
# only the newest frame waits while a frame is processed; older ones are dropped.
LATEST_IMAGE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE)

# /human_mesh/topology: published once, kept for late joiners.
LATCHED_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
