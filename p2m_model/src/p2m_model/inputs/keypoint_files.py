"""Reading (and writing) 2D keypoint files: COCO keypoint results and p2m sequence files.

Pure parsing, no ROS; the ``file_source`` node publishes what this returns.
Both formats give a list of :class:`KeypointFrame`, one per image, in file order
(sequence files) or ``image_id`` order (COCO results).

COCO keypoint results (``.json``; what OpenPose, HRNet, MMPose and the COCO
evaluation tools write; https://cocodataset.org/#format-results)::

    [{"image_id": 42, "category_id": 1, "keypoints": [x1, y1, v1, ..., x17, y17, v17],
      "score": 0.93}, ...]

- One entry per detected person; entries are grouped by ``image_id`` (int or
  str, all of one type) and the frames sorted by it. Only images with at least
  one detection appear.
- ``keypoints``: 17 COCO joints in COCO order, pixels; ``v`` is the detector's
  keypoint confidence (clipped to [0, 1]: some tools write heatmap maxima
  slightly above 1). ``category_id`` must be 1 (person) when present. The
  person ``score`` is optional and unused. ``track_id`` (PoseTrack) becomes
  the person id when present, else -1 (untracked).
- The format has no image size: the reader leaves it None (file_source takes
  it from its parameters).

p2m sequence file (``.jsonl``, JSON lines: one frame per non-blank line)::

    {"stamp": 0.1, "image_width": 640, "image_height": 480, "skeleton": "coco17",
     "people": [{"id": 0, "keypoints": [[x, y], ...], "scores": [s, ...]}]}

- ``image_width``, ``image_height``: required positive integers, pixels.
- ``stamp``: optional acquisition time, seconds (finite, >= 0).
- ``skeleton``: optional joint set of all people, default "coco17"
  (``p2m_model.body.skeletons``); each person has exactly its J joints.
- ``people``: may be empty. ``id``: optional int, default -1 (untracked).
  ``keypoints``: J [x, y] pixel pairs (origin top-left corner, finite).
  ``scores``: optional J confidences in [0, 1], default 1.

Malformed input raises ValueError naming the file and the line (sequence
files) or the entry (COCO results); a missing file raises FileNotFoundError.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from p2m_model.body.skeletons import get_skeleton, skeleton_names

COCO_PERSON_CATEGORY_ID = 1
COCO_SKELETON = "coco17"
UNTRACKED_PERSON_ID = -1


@dataclass(frozen=True)
class KeypointFrame:
    """The people of one image.

    Attributes:
        keypoints: (N, J, 2) float32 pixels.
        scores: (N, J) float32 in [0, 1].
        person_ids: (N,) int64 track ids, -1 = untracked.
        skeleton: joint-set name, e.g. "coco17".
        image_size: (width, height) pixels, or None when the file does not say.
        stamp_s: acquisition time in seconds, or None.
        image_id: the COCO ``image_id``, or None for sequence files.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    person_ids: np.ndarray
    skeleton: str = COCO_SKELETON
    image_size: tuple[int, int] | None = None
    stamp_s: float | None = None
    image_id: int | str | None = None

    @property
    def num_people(self) -> int:
        return len(self.keypoints)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite_array(values: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A nested list of numbers -> float64 array of ``shape``; ValueError naming ``what``."""
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers of shape {shape}") from None
    if array.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} has non-finite values")
    return array


def _frame(people_keypoints: list[np.ndarray], people_scores: list[np.ndarray], ids: list[int],
           num_joints: int, **fields: Any) -> KeypointFrame:
    if people_keypoints:
        keypoints = np.stack(people_keypoints).astype(np.float32)
        scores = np.stack(people_scores).astype(np.float32)
    else:
        keypoints = np.zeros((0, num_joints, 2), np.float32)
        scores = np.zeros((0, num_joints), np.float32)
    return KeypointFrame(keypoints=keypoints, scores=scores,
                         person_ids=np.array(ids, dtype=np.int64), **fields)


# ----------------------------------------------------------------------------- COCO results

def _coco_person(entry: Any, num_joints: int) -> tuple[Any, np.ndarray, np.ndarray, int]:
    """One results entry -> (image_id, keypoints (J, 2), scores (J,), person id)."""
    if not isinstance(entry, dict):
        raise ValueError(f"must be an object, got {type(entry).__name__}")
    for key in ("image_id", "keypoints"):
        if key not in entry:
            raise ValueError(f"missing {key!r}")
    image_id = entry["image_id"]
    if not (_is_int(image_id) or isinstance(image_id, str)):
        raise ValueError(f"image_id must be an int or a string, got {image_id!r}")
    category = entry.get("category_id", COCO_PERSON_CATEGORY_ID)
    if category != COCO_PERSON_CATEGORY_ID:
        raise ValueError(f"category_id {category!r} is not {COCO_PERSON_CATEGORY_ID} (person)")
    track_id = entry.get("track_id", UNTRACKED_PERSON_ID)
    if not _is_int(track_id):
        raise ValueError(f"track_id must be an int, got {track_id!r}")
    triplets = _finite_array(entry["keypoints"], (3 * num_joints,), "keypoints [x, y, v] * 17")
    triplets = triplets.reshape(num_joints, 3)  # J x (x, y, v)
    return image_id, triplets[:, :2], np.clip(triplets[:, 2], 0.0, 1.0), track_id


def parse_coco_results(entries: Any, source: str = "<COCO results>") -> list[KeypointFrame]:
    """Parsed COCO keypoint-results JSON -> frames sorted by image_id.

    Args:
        entries: the JSON document (a list of result objects).
        source: name used in error messages (the file path).

    Raises:
        ValueError: naming ``source`` and the entry index of the first problem.
    """
    if not isinstance(entries, list):
        raise ValueError(f"{source}: a COCO results file is a JSON list of objects, "
                         f"got {type(entries).__name__}")
    num_joints = get_skeleton(COCO_SKELETON).num_joints
    by_image: dict[Any, list[tuple[np.ndarray, np.ndarray, int]]] = {}
    for index, entry in enumerate(entries):
        try:
            image_id, keypoints, scores, person_id = _coco_person(entry, num_joints)
        except ValueError as error:
            raise ValueError(f"{source}: entry {index}: {error}") from None
        by_image.setdefault(image_id, []).append((keypoints, scores, person_id))
    id_types = {type(image_id) for image_id in by_image}
    if len(id_types) > 1:
        raise ValueError(f"{source}: image_id values mix ints and strings")
    return [_frame([p[0] for p in people], [p[1] for p in people], [p[2] for p in people],
                   num_joints, skeleton=COCO_SKELETON, image_id=image_id)
            for image_id, people in sorted(by_image.items(), key=lambda item: item[0])]


def coco_results_entries(frames: Iterable[KeypointFrame]) -> list[dict]:
    """Frames (COCO-17, with image_id set) -> COCO keypoint-results objects.

    The person score written is the mean keypoint score. Track ids other than
    -1 are written as ``track_id``.

    Raises:
        ValueError: a frame without image_id or not COCO-17.
    """
    entries = []
    for frame in frames:
        if frame.image_id is None or frame.skeleton != COCO_SKELETON:
            raise ValueError("COCO results need coco17 frames with an image_id")
        for points, scores, person_id in zip(frame.keypoints, frame.scores, frame.person_ids):
            triplets = np.concatenate([points, scores[:, None]], axis=1)  # J x 3
            entry = {"image_id": frame.image_id, "category_id": COCO_PERSON_CATEGORY_ID,
                     "keypoints": [round(float(v), 3) for v in triplets.reshape(-1)],
                     "score": round(float(scores.mean()), 4)}
            if person_id != UNTRACKED_PERSON_ID:
                entry["track_id"] = int(person_id)
            entries.append(entry)
    return entries


# ----------------------------------------------------------------------------- sequence files

def _positive_int(record: dict, key: str) -> int:
    value = record.get(key)
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{key!r} must be a positive integer, got {value!r}")
    return value


def parse_sequence_record(record: Any) -> KeypointFrame:
    """One decoded sequence-file line -> KeypointFrame.

    Raises:
        ValueError: saying which field is wrong.
    """
    if not isinstance(record, dict):
        raise ValueError(f"a frame must be a JSON object, got {type(record).__name__}")
    image_size = (_positive_int(record, "image_width"), _positive_int(record, "image_height"))
    stamp = record.get("stamp")
    if stamp is not None and not (_is_number(stamp) and math.isfinite(stamp) and stamp >= 0):
        raise ValueError(f"'stamp' must be a finite number of seconds >= 0, got {stamp!r}")
    skeleton_name = record.get("skeleton", COCO_SKELETON)
    if skeleton_name not in skeleton_names():
        raise ValueError(f"unknown skeleton {skeleton_name!r}; known: {', '.join(skeleton_names())}")
    num_joints = get_skeleton(skeleton_name).num_joints
    people = record.get("people")
    if not isinstance(people, list):
        raise ValueError(f"'people' must be a list, got {people!r}")
    keypoints, scores, ids = [], [], []
    for index, person in enumerate(people):
        what = f"people[{index}]"
        if not isinstance(person, dict) or "keypoints" not in person:
            raise ValueError(f"{what} must be an object with 'keypoints'")
        person_id = person.get("id", UNTRACKED_PERSON_ID)
        if not _is_int(person_id):
            raise ValueError(f"{what}.id must be an int, got {person_id!r}")
        keypoints.append(_finite_array(person["keypoints"], (num_joints, 2), f"{what}.keypoints"))
        if "scores" in person:
            person_scores = _finite_array(person["scores"], (num_joints,), f"{what}.scores")
            if np.any((person_scores < 0) | (person_scores > 1)):
                raise ValueError(f"{what}.scores must be in [0, 1]")
        else:
            person_scores = np.ones(num_joints)
        scores.append(person_scores)
        ids.append(person_id)
    return _frame(keypoints, scores, ids, num_joints, skeleton=skeleton_name,
                  image_size=image_size, stamp_s=None if stamp is None else float(stamp))


def parse_sequence_lines(lines: Iterable[str], source: str = "<sequence>") -> list[KeypointFrame]:
    """JSON lines -> frames in line order; blank lines are skipped.

    Raises:
        ValueError: naming ``source`` and the 1-based line number.
    """
    frames = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            frames.append(parse_sequence_record(json.loads(line)))
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{source}:{line_number}: {error}") from None
    return frames


def sequence_record(frame: KeypointFrame, decimals: int = 2) -> dict:
    """KeypointFrame (with image_size) -> a sequence-file object, numbers rounded."""
    if frame.image_size is None:
        raise ValueError("a sequence-file frame needs image_size")
    record: dict[str, Any] = {}
    if frame.stamp_s is not None:
        record["stamp"] = round(frame.stamp_s, 6)
    record.update(image_width=int(frame.image_size[0]), image_height=int(frame.image_size[1]),
                  skeleton=frame.skeleton, people=[
                      {"id": int(person_id),
                       "keypoints": np.round(points.astype(np.float64), decimals).tolist(),
                       "scores": np.round(scores.astype(np.float64), 3).tolist()}
                      for points, scores, person_id
                      in zip(frame.keypoints, frame.scores, frame.person_ids)])
    return record


def write_sequence(path: str | Path, frames: Iterable[KeypointFrame]) -> Path:
    """Write frames as a sequence file (one JSON object per line); returns the path."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as file:
        for frame in frames:
            file.write(json.dumps(sequence_record(frame), separators=(",", ":")) + "\n")
    return path


# ----------------------------------------------------------------------------- files

def _is_one_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def read_keypoint_file(path: str | Path) -> list[KeypointFrame]:
    """Read a COCO results file or a sequence file, told apart by content.

    A document whose first non-blank character is ``[`` is COCO results; one
    starting with ``{`` is a sequence file (JSON lines).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unknown or malformed content, naming the file and line/entry.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"keypoint file not found: {path}")
    text = path.read_text(encoding="utf-8")
    start = text.lstrip()[:1]
    if start == "[":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
        return parse_coco_results(document, str(path))
    if start == "{":
        lines = text.splitlines()
        if len([line for line in lines if line.strip()]) > 1 and _is_one_json_object(text):
            raise ValueError(f"{path}: one JSON object over several lines, neither JSON lines "
                             f"(one frame per line) nor a COCO results list (e.g. a COCO "
                             f"annotation file: convert its 'annotations')")
        return parse_sequence_lines(lines, str(path))
    raise ValueError(f"{path}: neither a COCO results list ('[') nor a JSON-lines sequence ('{{')")
