"""keypoint_files: COCO keypoint results and p2m sequence files, round trips and errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from p2m_model.inputs.keypoint_files import (
    KeypointFrame,
    coco_results_entries,
    parse_coco_results,
    read_keypoint_file,
    write_sequence,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "ros2_ws" / "src" / "p2m_bringup" / "config" / "examples"
RNG = np.random.default_rng(1)


def random_frame(num_people: int, image_id: int, stamp_s: float | None = 0.5) -> KeypointFrame:
    return KeypointFrame(
        keypoints=RNG.uniform(0, 600, (num_people, 17, 2)).astype(np.float32),
        scores=RNG.uniform(0, 1, (num_people, 17)).astype(np.float32),
        person_ids=np.arange(num_people, dtype=np.int64) + 3,
        image_size=(640, 480), stamp_s=stamp_s, image_id=image_id)


def coco_entry(image_id, keypoints=None, **extra) -> dict:
    keypoints = keypoints if keypoints is not None else [10.0, 20.0, 0.5] * 17
    return {"image_id": image_id, "category_id": 1, "keypoints": keypoints, "score": 0.9, **extra}


def write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document, indent=1))
    return path


def test_sequence_round_trip(tmp_path: Path) -> None:
    frames = [random_frame(2, 1, 0.0), random_frame(0, 2, None), random_frame(1, 3, 0.2)]
    read = read_keypoint_file(write_sequence(tmp_path / "seq.jsonl", frames))
    assert len(read) == 3
    for original, parsed in zip(frames, read):
        assert parsed.image_size == (640, 480) and parsed.skeleton == "coco17"
        assert parsed.stamp_s == original.stamp_s and parsed.image_id is None
        assert parsed.keypoints.shape == original.keypoints.shape
        np.testing.assert_allclose(parsed.keypoints, original.keypoints, atol=0.006)
        np.testing.assert_allclose(parsed.scores, original.scores, atol=6e-4)
        np.testing.assert_array_equal(parsed.person_ids, original.person_ids)
    assert read[1].keypoints.shape == (0, 17, 2) and read[1].scores.shape == (0, 17)


def test_sequence_defaults_and_blank_lines(tmp_path: Path) -> None:
    line = {"image_width": 100, "image_height": 50, "people": [{"keypoints": [[1, 2]] * 17}]}
    path = tmp_path / "seq.jsonl"
    path.write_text("\n" + json.dumps(line) + "\n\n" + json.dumps(line) + "\n")
    frames = read_keypoint_file(path)
    assert len(frames) == 2
    np.testing.assert_array_equal(frames[0].scores, 1.0)
    np.testing.assert_array_equal(frames[0].person_ids, [-1])
    assert frames[0].stamp_s is None


def test_h36m17_sequence(tmp_path: Path) -> None:
    line = {"image_width": 10, "image_height": 10, "skeleton": "h36m17",
            "people": [{"keypoints": [[1, 2]] * 17}]}
    path = tmp_path / "seq.jsonl"
    path.write_text(json.dumps(line))
    assert read_keypoint_file(path)[0].skeleton == "h36m17"


def test_coco_results_grouped_and_sorted(tmp_path: Path) -> None:
    entries = [coco_entry(7), coco_entry(2, [1.0, 2.0, 1.2] * 17), coco_entry(7, track_id=4),
               coco_entry(3)]
    frames = read_keypoint_file(write_json(tmp_path / "results.json", entries))
    assert [frame.image_id for frame in frames] == [2, 3, 7]
    assert [frame.num_people for frame in frames] == [1, 1, 2]
    np.testing.assert_array_equal(frames[2].person_ids, [-1, 4])
    np.testing.assert_allclose(frames[0].keypoints[0], [[1.0, 2.0]] * 17)
    np.testing.assert_allclose(frames[0].scores, 1.0)  # 1.2 clipped
    np.testing.assert_allclose(frames[1].scores, 0.5)
    assert all(frame.image_size is None and frame.stamp_s is None for frame in frames)


def test_coco_writer_round_trip(tmp_path: Path) -> None:
    frames = [random_frame(2, 5), random_frame(1, 9)]
    read = read_keypoint_file(write_json(tmp_path / "r.json", coco_results_entries(frames)))
    assert [frame.image_id for frame in read] == [5, 9]
    np.testing.assert_allclose(read[0].keypoints, frames[0].keypoints, atol=6e-4)
    np.testing.assert_array_equal(read[0].person_ids, frames[0].person_ids)


def test_shipped_examples_agree() -> None:
    sequence = read_keypoint_file(EXAMPLES / "walking_two_people.jsonl")
    coco = read_keypoint_file(EXAMPLES / "walking_two_people_coco.json")
    assert len(sequence) == len(coco) >= 3
    for frame, coco_frame in zip(sequence, coco):
        assert frame.num_people == 2 and frame.image_size == (640, 480)
        np.testing.assert_allclose(frame.keypoints, coco_frame.keypoints, atol=0.01)
        inside = (frame.keypoints >= 0) & (frame.keypoints <= [640, 480])
        assert inside.all()
    stamps = [frame.stamp_s for frame in sequence]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("line, message", [
    ("{not json", "seq.jsonl:2: Expecting property name"),
    ('{"image_width": 10, "people": []}', "seq.jsonl:2: 'image_height' must be a positive integer"),
    ('{"image_width": 10, "image_height": 0, "people": []}', "seq.jsonl:2: 'image_height'"),
    ('{"image_width": 10, "image_height": 5, "stamp": -1, "people": []}', "'stamp'"),
    ('{"image_width": 10, "image_height": 5, "people": {}}', "'people' must be a list"),
    ('{"image_width": 10, "image_height": 5, "skeleton": "body25", "people": []}', "'body25'"),
    ('{"image_width": 10, "image_height": 5, "people": [{"keypoints": [[1, 2]]}]}',
     r"people\[0\].keypoints must have shape \(17, 2\), got \(1, 2\)"),
    ('{"image_width": 10, "image_height": 5, "people": [{"keypoints": [[1, NaN]]}]}',
     r"people\[0\].keypoints must have shape"),
    ('{"image_width": 10, "image_height": 5, "people": [{"id": "a", "keypoints": []}]}',
     r"people\[0\].id must be an int"),
    ('[1, 2]', "seq.jsonl:2: a frame must be a JSON object"),
])
def test_malformed_sequence_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    good = '{"image_width": 10, "image_height": 5, "people": []}'
    path = tmp_path / "seq.jsonl"
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(ValueError, match=message):
        read_keypoint_file(path)


def test_scores_out_of_range_rejected(tmp_path: Path) -> None:
    path = tmp_path / "seq.jsonl"
    path.write_text(json.dumps({"image_width": 10, "image_height": 5, "people": [
        {"keypoints": [[1, 2]] * 17, "scores": [1.5] * 17}]}))
    with pytest.raises(ValueError, match=r"seq.jsonl:1: people\[0\].scores must be in \[0, 1\]"):
        read_keypoint_file(path)


@pytest.mark.parametrize("document, message", [
    ({"annotations": []}, "one JSON object over several lines"),
    ([coco_entry(1), {"keypoints": [0] * 51}], "entry 1: missing 'image_id'"),
    ([coco_entry(1, [0.0] * 50)], r"entry 0: keypoints \[x, y, v\] \* 17 must have shape \(51,\)"),
    ([coco_entry(1, category_id=2)], "entry 0: category_id 2 is not 1"),
    ([coco_entry(1), coco_entry("a.jpg")], "image_id values mix"),
    ([coco_entry(1.5)], "entry 0: image_id must be an int or a string"),
])
def test_malformed_coco_names_file_and_entry(tmp_path: Path, document, message: str) -> None:
    path = write_json(tmp_path / "results.json", document)
    with pytest.raises(ValueError, match=message) as error:
        read_keypoint_file(path)
    assert "results.json" in str(error.value)


def test_non_list_document() -> None:
    with pytest.raises(ValueError, match="r.json: a COCO results file is a JSON list"):
        parse_coco_results({"annotations": []}, "r.json")


def test_broken_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('[\n{"image_id": 1,\n oops}\n]')
    with pytest.raises(ValueError, match=r"results.json:3: invalid JSON"):
        read_keypoint_file(path)


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        read_keypoint_file(tmp_path / "nothing.json")
    (tmp_path / "plain.txt").write_text("x y\n")
    with pytest.raises(ValueError, match="plain.txt: neither"):
        read_keypoint_file(tmp_path / "plain.txt")
