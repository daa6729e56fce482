"""A bare relay for the transport floor: forwards each frame as a fixed message of the
pipeline's size, with the input's header stamp, and does nothing else.

Two of these in a row (keypoints -> Pose3DArray-sized -> HumanMeshArray-sized) make
the same DDS hops with the same message sizes as posenet_node -> meshnet_node, so
their latency is the floor the pipeline's is measured against.

    tools/ros_env.sh python bench/relay_node.py --input in --output out --output-type mesh \
        --people 1 --vertices 13718
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from rclpy.node import Node
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, Pose3DArray
from p2m_nodes.runtime.node_support import run_node
from p2m_nodes.runtime.qos import STREAM_QOS
from p2m_nodes.stages.conversions import human_mesh_array_to_msg, pose3d_array_to_msg
from p2m_nodes.stages.person_data import PersonKeypoints

NUM_JOINTS = 17
# CDR: 4-byte encapsulation header, then Header.stamp (int32 sec, uint32 nanosec) first.
STAMP_BYTES = slice(4, 12)
FRAME_ID = "camera_optical_frame"
INPUT_TYPES = {"keypoints": Keypoints2DArray, "pose": Pose3DArray}
OUTPUT_TYPES = {"pose": Pose3DArray, "mesh": HumanMeshArray}


def template_message(output_type: str, people: int, vertices: int) -> bytes:
    """CDR bytes of a zero-filled output message of the size the pipeline publishes.

    Args:
        output_type: "pose" (posenet_node's Pose3DArray) or "mesh" (meshnet_node's
            HumanMeshArray without faces).
        people: people per frame.
        vertices: mesh vertices per person.
    """
    header = Header(frame_id=FRAME_ID)
    ids = list(range(people))
    joints = np.zeros((people, NUM_JOINTS, 3), np.float32)
    if output_type == "pose":
        person = PersonKeypoints(0, "coco17", np.zeros(2 * NUM_JOINTS, np.float32),
                                 np.zeros(NUM_JOINTS, np.float32))
        message = pose3d_array_to_msg(header, (640, 480), joints, [person] * people)
    else:
        message = human_mesh_array_to_msg(header, "anny-v1", np.zeros((people, vertices, 3),
                                                                      np.float32),
                                          joints, "h36m17", ids, np.zeros((people, 3)))
    return serialize_message(message)


class RelayNode(Node):
    """Raw subscription in, prebuilt bytes with the input's stamp out."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__("bench_relay")
        self.template = bytearray(template_message(args.output_type, args.people, args.vertices))
        self.publisher = self.create_publisher(OUTPUT_TYPES[args.output_type], args.output,
                                               STREAM_QOS)
        self.create_subscription(INPUT_TYPES[args.input_type], args.input, self.on_input,
                                 STREAM_QOS, raw=True)

    def on_input(self, data: bytes) -> None:
        self.template[STAMP_BYTES] = data[STAMP_BYTES]
        self.publisher.publish(bytes(self.template))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="input topic")
    parser.add_argument("--input-type", choices=sorted(INPUT_TYPES), default="keypoints")
    parser.add_argument("--output", required=True, help="output topic")
    parser.add_argument("--output-type", choices=sorted(OUTPUT_TYPES), required=True)
    parser.add_argument("--people", type=int, default=1)
    parser.add_argument("--vertices", type=int, required=True, help="vertices per mesh")
    args = parser.parse_args(argv)
    return run_node(lambda: RelayNode(args))


if __name__ == "__main__":
    sys.exit(main())
