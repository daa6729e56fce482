"""p2m_msgs: every message is generated, serializes losslessly, and crosses processes over DDS.

Messages are filled generically from their rosidl type description, so a new
.msg file is covered without touching this file. Sequences of numbers get
LARGE_SEQUENCE_LENGTH elements (the size of an Anny mesh's face list) in the
serialization tests.
"""

from __future__ import annotations

import array
import importlib
import json
import select
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy  # noqa: F401  (fails collection, loudly, outside the ROS environment)
from rclpy.serialization import deserialize_message, serialize_message
from rosidl_parser import definition

import p2m_msgs.msg

MSG_DIR = Path(__file__).resolve().parent.parent / "ros2_ws" / "src" / "p2m_msgs" / "msg"
MESSAGE_NAMES = sorted(path.stem for path in MSG_DIR.glob("*.msg"))

# 3 * 27,420 Anny triangles (docs/assets-and-licences.md): the largest array we publish.
LARGE_SEQUENCE_LENGTH = 3 * 27_420
# For the DDS test: big enough that array messages exceed one 64 KiB UDP datagram
# (fragmented), small enough to stay fast; reliable bursts of MBs take seconds
# over loopback (measured: 9 MB in ~9 s), which is a transport cost, not a bug.
DDS_SEQUENCE_LENGTH = 4096
NESTED_SEQUENCE_LENGTH = 2

# Default topics (README "Messages and topics"); the element types get test topics.
TOPICS = {
    "Keypoints2DArray": ("/keypoints_2d", "volatile"),
    "Pose3DArray": ("/pose_3d", "volatile"),
    "HumanMeshArray": ("/human_mesh", "volatile"),
    "MeshTopology": ("/human_mesh/topology", "transient_local"),
}

# rosidl's Python mapping of numeric sequences is array.array with these type codes.
ARRAY_TYPECODES = {
    "float": "f", "double": "d",
    "int8": "b", "uint8": "B", "int16": "h", "uint16": "H",
    "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q",
}
NUMPY_DTYPES = {code_name: np.dtype(code) for code_name, code in ARRAY_TYPECODES.items()}


def random_numbers(typename: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random values of rosidl basic type ``typename`` as a numpy array."""
    dtype = NUMPY_DTYPES[typename]
    if dtype.kind == "f":
        return (rng.standard_normal(count) * 10.0).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=count, dtype=dtype, endpoint=True)


def random_value(slot_type: definition.AbstractType, rng: np.random.Generator, sequence_length: int):
    """A random Python value for one message field of rosidl type ``slot_type``.

    Sequences of numbers get ``sequence_length`` elements, of anything else
    NESTED_SEQUENCE_LENGTH.
    """
    if isinstance(slot_type, definition.BasicType):
        if slot_type.typename == "boolean":
            return bool(rng.integers(0, 2))
        return random_numbers(slot_type.typename, 1, rng)[0].item()
    if isinstance(slot_type, definition.AbstractString):
        return f"text-{rng.integers(0, 1_000_000)}"
    if isinstance(slot_type, definition.NamespacedType):
        module = importlib.import_module(".".join(slot_type.namespaces))
        return random_message(getattr(module, slot_type.name), rng, sequence_length)
    if isinstance(slot_type, definition.AbstractSequence):
        element = slot_type.value_type
        if isinstance(element, definition.BasicType) and element.typename in ARRAY_TYPECODES:
            values = random_numbers(element.typename, sequence_length, rng)
            # array.array from bytes: 100x faster than assigning a numpy array.
            return array.array(ARRAY_TYPECODES[element.typename], values.tobytes())
        return [random_value(element, rng, sequence_length) for _ in range(NESTED_SEQUENCE_LENGTH)]
    raise NotImplementedError(f"no random value for field type {slot_type!r}: extend random_value")


def random_message(message_class: type, rng: np.random.Generator, sequence_length: int = LARGE_SEQUENCE_LENGTH):
    """An instance of ``message_class`` with every field (recursively) set to random values."""
    message = message_class()
    for field_name, slot_type in zip(message_class.get_fields_and_field_types(), message_class.SLOT_TYPES):
        setattr(message, field_name, random_value(slot_type, rng, sequence_length))
    return message


def msg_file_field_names(msg_path: Path) -> list[str]:
    """Field names declared in a .msg file, in order (constants and comments skipped)."""
    names = []
    for line in msg_path.read_text().splitlines():
        declaration = line.split("#", 1)[0].strip()
        if declaration and "=" not in declaration:
            names.append(declaration.split()[1])
    return names


def test_msg_directory_is_not_empty():
    assert MESSAGE_NAMES, f"no .msg files in {MSG_DIR}"


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_message_is_generated_with_the_declared_fields(name):
    message_class = getattr(p2m_msgs.msg, name, None)
    assert message_class is not None, f"p2m_msgs.msg.{name} missing: is msg/{name}.msg in CMakeLists.txt?"
    assert list(message_class.get_fields_and_field_types()) == msg_file_field_names(MSG_DIR / f"{name}.msg")


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_serialization_round_trip(name):
    message_class = getattr(p2m_msgs.msg, name)
    message = random_message(message_class, np.random.default_rng(1))
    data = serialize_message(message)
    assert deserialize_message(data, message_class) == message
    # The equality above must be able to fail: a message from another seed differs.
    other = random_message(message_class, np.random.default_rng(2))
    assert deserialize_message(serialize_message(other), message_class) != message


def test_large_float32_array_is_bit_exact():
    values = np.random.default_rng(3).standard_normal(LARGE_SEQUENCE_LENGTH).astype(np.float32)
    values[:6] = [np.inf, -np.inf, -0.0, np.finfo(np.float32).max, np.finfo(np.float32).tiny, np.nan]
    mesh = p2m_msgs.msg.HumanMesh(topology="anny-v1", vertices=array.array("f", values.tobytes()))
    received = deserialize_message(serialize_message(mesh), p2m_msgs.msg.HumanMesh)
    assert np.frombuffer(received.vertices, np.float32).tobytes() == values.tobytes()


# Both processes use reliable QoS; "transient_local" topics are latched (depth 1).
_QOS_SNIPPET = r"""
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

def make_qos(durability):
    latched = durability == "transient_local"
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=1 if latched else 10,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )
"""

# argv: spec.json, deadline seconds. Publishes latched topics at once (before any
# subscriber exists), waits for subscribers on the others, publishes them, then
# stays until the subscriber has left (reliable resends need the writer alive).
PUBLISHER = _QOS_SNIPPET + r"""
import json, sys, time
import rclpy
from rclpy.serialization import deserialize_message
import p2m_msgs.msg

spec = json.loads(open(sys.argv[1]).read())
deadline = time.monotonic() + float(sys.argv[2])
rclpy.init()
node = rclpy.create_node("p2m_test_publisher")
entries = []
for item in spec:
    message_class = getattr(p2m_msgs.msg, item["type"])
    message = deserialize_message(open(item["path"], "rb").read(), message_class)
    publisher = node.create_publisher(message_class, item["topic"], make_qos(item["durability"]))
    entries.append((item, publisher, message))
for item, publisher, message in entries:
    if item["durability"] == "transient_local":
        publisher.publish(message)
print("latched-published", flush=True)
volatile = [(publisher, message) for item, publisher, message in entries if item["durability"] == "volatile"]
while any(publisher.get_subscription_count() == 0 for publisher, _ in volatile):
    if time.monotonic() > deadline:
        sys.exit("publisher: no subscriber matched before the deadline")
    time.sleep(0.02)
for publisher, message in volatile:
    publisher.publish(message)
print("published", flush=True)
while any(publisher.get_subscription_count() > 0 for _, publisher, _ in entries):
    if time.monotonic() > deadline:
        sys.exit("publisher: subscriber still matched at the deadline")
    time.sleep(0.05)
node.destroy_node()
rclpy.shutdown()
"""

# argv: spec.json, output dir, deadline seconds. Writes each received message,
# re-serialized, to <output dir>/<type>.cdr.
SUBSCRIBER = _QOS_SNIPPET + r"""
import json, pathlib, sys, time
import rclpy
from rclpy.serialization import serialize_message
import p2m_msgs.msg

spec = json.loads(open(sys.argv[1]).read())
out_dir = pathlib.Path(sys.argv[2])
deadline = time.monotonic() + float(sys.argv[3])
rclpy.init()
node = rclpy.create_node("p2m_test_subscriber")
received = {}
for item in spec:
    def keep(message, name=item["type"]):
        received.setdefault(name, serialize_message(message))
    node.create_subscription(getattr(p2m_msgs.msg, item["type"]), item["topic"], keep, make_qos(item["durability"]))
while len(received) < len(spec) and time.monotonic() < deadline:
    rclpy.spin_once(node, timeout_sec=0.1)
for name, data in received.items():
    (out_dir / f"{name}.cdr").write_bytes(data)
node.destroy_node()
rclpy.shutdown()
missing = sorted({item["type"] for item in spec} - set(received))
sys.exit(f"subscriber: nothing received for {missing}" if missing else 0)
"""


def wait_for_line(proc, expected: str, timeout_s: float) -> None:
    """Read ``proc.stdout`` until the line ``expected``; fail on timeout or exit, showing stderr."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            line = proc.stdout.readline()
            if line.strip() == expected:
                return
            if not line:
                break
    proc.kill()
    proc.wait()
    pytest.fail(f"no line {expected!r} from process (exit {proc.returncode}): {proc.stderr_path.read_text()}")


@pytest.mark.timeout(120)
def test_every_message_crosses_processes_over_fast_dds(tmp_path, spawn_python, run_python):
    rng = np.random.default_rng(4)
    sent = {}
    spec = []
    for name in MESSAGE_NAMES:
        message = random_message(getattr(p2m_msgs.msg, name), rng, DDS_SEQUENCE_LENGTH)
        path = tmp_path / f"{name}.sent.cdr"
        path.write_bytes(serialize_message(message))
        topic, durability = TOPICS.get(name, (f"/p2m_test/{name.lower()}", "volatile"))
        spec.append({"type": name, "topic": topic, "durability": durability, "path": str(path)})
        sent[name] = message
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    out_dir = tmp_path / "received"
    out_dir.mkdir()

    publisher = spawn_python(PUBLISHER, str(spec_path), "60")
    # The subscriber starts only after the latched topics were published: a late joiner.
    wait_for_line(publisher, "latched-published", timeout_s=30)
    subscriber = run_python(SUBSCRIBER, str(spec_path), str(out_dir), "30", timeout_s=60)
    assert subscriber.returncode == 0, subscriber.stderr
    assert publisher.wait(timeout=30) == 0, publisher.stderr_path.read_text()

    for name, message in sent.items():
        received = deserialize_message((out_dir / f"{name}.cdr").read_bytes(), type(message))
        assert received == message, f"{name} changed on the way"
