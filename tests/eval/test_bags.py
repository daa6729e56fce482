"""Bags from bag_maker: contents, rosbag2 v8 metadata, read back by mcap + mcap-ros2-support
(an independent reader), and bag_replay's reading and restamping of raw CDR."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from p2m_nodes.bags.replay import FrameRestamper, header_stamp_ns, read_bag, restamped

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE_BAG = DATA / "bags" / "sample"
SHARDS = DATA / "synth"


def decoded_messages(bag):
    """{topic: [(log_time, schema, decoded message)]} through mcap-ros2-support."""
    (mcap_file,) = bag.glob("*.mcap")
    out = {}
    with mcap_file.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for schema, channel, message, decoded in reader.iter_decoded_messages():
            out.setdefault(channel.topic, []).append((message.log_time, schema, decoded))
    return out


def test_synthetic_bag_decodes_independently_and_matches_the_generator(synthetic_bag):
    from p2m_nodes.bags.maker import synthetic_config, synthetic_frames

    config = synthetic_config(2, 0, 0.5, (64, 48))
    frames = list(synthetic_frames(config, 5, 10.0, 1_700_000_000.0, images=True))
    topics = decoded_messages(synthetic_bag)
    assert {topic: len(messages) for topic, messages in topics.items()} == {
        "/camera/camera_info": 5, "/camera/image_raw": 5, "/keypoints_2d": 5,
        "/ground_truth/pose_3d": 5, "/ground_truth/human_mesh": 3}
    for messages in topics.values():
        for log_time, schema, msg in messages:
            assert schema.encoding == "ros2msg"
            assert schema.name.split("/")[1] == "msg"
            assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == log_time
            assert msg.header.frame_id == "camera_optical_frame"
    assert topics["/keypoints_2d"][0][1].name == "p2m_msgs/msg/Keypoints2DArray"
    for frame, (log_time, _, msg) in zip(frames, topics["/keypoints_2d"]):
        assert log_time == frame.stamp_ns
        assert [p.person_id for p in msg.people] == [0, 1]
        np.testing.assert_array_equal(np.array([p.keypoints for p in msg.people]),
                                      frame.frame.keypoints.reshape(2, -1))
    for frame, (_, _, msg) in zip(frames, topics["/ground_truth/pose_3d"]):
        assert msg.people[0].joint_set == "h36m17" and msg.people[0].root_known
        np.testing.assert_array_equal(np.array([p.joints for p in msg.people]),
                                      frame.frame.h36m17_joints.reshape(2, -1))
    for frame, (_, _, msg) in zip(frames[::2], topics["/ground_truth/human_mesh"]):
        np.testing.assert_array_equal(np.array(msg.people[1].vertices),
                                      frame.frame.vertices[1].reshape(-1))
    image = topics["/camera/image_raw"][0][2]
    assert (image.width, image.height, image.encoding) == (64, 48, "rgb8")


def test_metadata_is_rosbag2_version_8_with_type_names(synthetic_bag):
    info = yaml.safe_load((synthetic_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["version"] == 8 and info["storage_identifier"] == "mcap"
    types = {t["topic_metadata"]["name"]: t["topic_metadata"]["type"]
             for t in info["topics_with_message_count"]}
    assert types["/keypoints_2d"] == "p2m_msgs/msg/Keypoints2DArray"
    assert types["/ground_truth/human_mesh"] == "p2m_msgs/msg/HumanMeshArray"
    for topic in info["topics_with_message_count"]:
        # Humble parses offered_qos_profiles as a YAML string (version 9 writes a list).
        assert isinstance(topic["topic_metadata"]["offered_qos_profiles"], str)


def test_dataset_bag_has_one_body_per_frame_in_the_camera_frame(tmp_path):
    from p2m_model.body.asset import BodyModelAsset
    from p2m_nodes.bags.maker import main

    bag = tmp_path / "dataset"
    assert main(["dataset", str(bag), "--data", str(SHARDS), "--split", "test",
                 "--frames", "3", "--quiet"]) == 0
    asset = BodyModelAsset.load()
    topics = decoded_messages(bag)
    assert len(topics["/keypoints_2d"]) == 3
    for (_, _, pose), (_, _, mesh) in zip(topics["/ground_truth/pose_3d"],
                                          topics["/ground_truth/human_mesh"]):
        (person,) = pose.people
        joints = np.array(person.joints).reshape(17, 3)
        np.testing.assert_allclose(joints[0], 0.0, atol=1e-6)  # root-relative at the pelvis
        vertices = np.array(mesh.people[0].vertices).reshape(-1, 3)
        # Camera frame: people stand metres in front of the camera; the mesh's joints are
        # the asset's H36M-17 regression of its vertices.
        assert vertices[:, 2].min() > 1.0
        np.testing.assert_allclose(np.array(mesh.people[0].joints).reshape(17, 3),
                                   asset.h36m17_regressor @ vertices, atol=1e-4)
        root = person.root_position
        np.testing.assert_allclose(joints + [root.x, root.y, root.z],
                                   asset.h36m17_regressor @ vertices, atol=1e-4)


def test_committed_sample_bag_is_readable():
    messages = read_bag(SAMPLE_BAG)
    counts = {}
    for message in messages:
        counts[message.topic] = counts.get(message.topic, 0) + 1
        assert message.has_header
    assert counts == {"/camera/camera_info": 40, "/keypoints_2d": 40,
                      "/ground_truth/pose_3d": 40, "/ground_truth/human_mesh": 2}
    assert [m.log_time_ns for m in messages] == sorted(m.log_time_ns for m in messages)


def test_restamping_rewrites_only_the_stamp_and_keeps_frames_together(synthetic_bag):
    messages = read_bag(synthetic_bag, ["/keypoints_2d", "/ground_truth/pose_3d"])
    original = messages[0]
    assert header_stamp_ns(original.data) == original.log_time_ns
    moved = restamped(original.data, 1_234_567_890_123_456_789)
    assert header_stamp_ns(moved) == 1_234_567_890_123_456_789
    assert moved[12:] == original.data[12:] and len(moved) == len(original.data)

    restamp = FrameRestamper()
    new_stamps = [header_stamp_ns(restamp(m, now_ns=5_000 + i)) for i, m in enumerate(messages)]
    frames = [m.log_time_ns for m in messages]
    for i, j in zip(range(len(messages)), range(1, len(messages))):
        assert (new_stamps[i] == new_stamps[j]) == (frames[i] == frames[j])
    assert new_stamps[0] == 5_000


def test_missing_bag_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        read_bag(tmp_path / "nothing-here")
