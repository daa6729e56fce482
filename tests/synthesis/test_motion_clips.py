import pytest

from p2m_model.synthesis.generate import split_clips
from p2m_model.synthesis.motion_clips import EVALUATION_CLIPS, TRAINING_CLIPS, check_training_clip, load_training_clips


def test_training_and_evaluation_clips_are_disjoint():
    assert not set(TRAINING_CLIPS) & set(EVALUATION_CLIPS)
    assert len(TRAINING_CLIPS) == 10 and len(EVALUATION_CLIPS) == 5


@pytest.mark.parametrize("name", EVALUATION_CLIPS)
def test_guard_refuses_evaluation_clips(name, tmp_path):
    with pytest.raises(ValueError, match="reserved for evaluation"):
        check_training_clip(name)
    with pytest.raises(ValueError, match="reserved for evaluation"):
        load_training_clips(tmp_path, ("walk", name))


def test_guard_refuses_unknown_and_accepts_training_clips():
    with pytest.raises(ValueError, match="unknown clip"):
        check_training_clip("moonwalk")
    for name in TRAINING_CLIPS:
        check_training_clip(name)


def test_only_the_test_split_uses_evaluation_clips():
    assert split_clips("train") == TRAINING_CLIPS
    assert split_clips("val") == TRAINING_CLIPS
    assert split_clips("test") == EVALUATION_CLIPS
