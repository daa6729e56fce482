import numpy as np
import pytest

from p2m_model.body.skeletons import (
    COCO17_JOINT_NAMES,
    COCO17_PELVIS_JOINTS,
    H36M17_JOINT_NAMES,
    MEDIAPIPE33_TO_COCO17,
    get_skeleton,
    skeleton_names,
)

# MediaPipe Pose landmark names in landmark order (33).
MEDIAPIPE_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
]


def test_orders_match_contract():
    assert len(COCO17_JOINT_NAMES) == 17 and len(H36M17_JOINT_NAMES) == 17
    assert COCO17_JOINT_NAMES[0] == "nose" and COCO17_JOINT_NAMES[16] == "right_ankle"
    assert H36M17_JOINT_NAMES[0] == "pelvis" and H36M17_JOINT_NAMES[10] == "head"
    assert [COCO17_JOINT_NAMES[i] for i in COCO17_PELVIS_JOINTS] == ["left_hip", "right_hip"]


def test_mediapipe_mapping_names_agree():
    assert [MEDIAPIPE_NAMES[i] for i in MEDIAPIPE33_TO_COCO17] == list(COCO17_JOINT_NAMES)


@pytest.mark.parametrize("name", skeleton_names())
def test_flip_pairs_swap_left_and_right(name):
    skeleton = get_skeleton(name)
    perm = skeleton.flip_permutation()
    assert sorted(perm.tolist()) == list(range(skeleton.num_joints))
    assert np.array_equal(perm[perm], np.arange(skeleton.num_joints))
    for i, j in enumerate(perm):
        mirrored = skeleton.joint_names[i].replace("left", "#").replace("right", "left").replace("#", "right")
        assert skeleton.joint_names[j] == mirrored


@pytest.mark.parametrize("name", skeleton_names())
def test_edges_connect_every_joint(name):
    skeleton = get_skeleton(name)
    reached, frontier = {0}, [0]
    while frontier:
        joint = frontier.pop()
        for a, b in skeleton.edges:
            for u, v in ((a, b), (b, a)):
                if u == joint and v not in reached:
                    reached.add(v)
                    frontier.append(v)
    assert reached == set(range(skeleton.num_joints))


def test_unknown_skeleton_raises():
    with pytest.raises(ValueError, match="mpii"):
        get_skeleton("mpii")
