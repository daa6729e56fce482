"""Plumbing shared by the p2m nodes: validated parameters, diagnostics, warnings, main()."""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from p2m_model.allocator_tuning import reuse_freed_memory
from p2m_nodes.runtime.diagnostics import DiagnosticsConfig, NodeStatistics, WarningThrottle
from p2m_nodes.runtime.qos import MODEL_INPUT_QOS, STREAM_QOS
from p2m_nodes.stages.validation import Rejection, ValidationConfig

FASTDDS_PROFILE_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"
DIAGNOSTICS_TOPIC = "/diagnostics"  # absolute: aggregators listen there whatever the namespace
DIAGNOSTICS_PERIOD_S = 1.0
WARNING_PERIOD_S = 5.0
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ParameterSpec:
    """A node parameter: name, default (its type is the parameter's type), description, check.

    Attributes:
        check: returns why a value is invalid, or None when it is fine.
        read_only: set at start only (model files, device).
        bounds: (lowest, highest) allowed value, both included, of an int or float
            parameter; shown in the descriptor (``ros2 param describe``) and checked.
    """

    name: str
    default: Any
    description: str
    check: Callable[[Any], str | None] = lambda value: None
    read_only: bool = False
    bounds: tuple[float, float] | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or None."""
        if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            return f"must be in [{self.bounds[0]}, {self.bounds[1]}]"
        return self.check(value)

    def descriptor(self) -> ParameterDescriptor:
        descriptor = ParameterDescriptor(description=self.description, read_only=self.read_only)
        if self.bounds is not None and isinstance(self.default, int):
            descriptor.integer_range = [IntegerRange(from_value=int(self.bounds[0]),
                                                     to_value=int(self.bounds[1]), step=1)]
        elif self.bounds is not None:
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(self.bounds[0]), to_value=float(self.bounds[1]), step=0.0)]
        return descriptor


def positive(value: float) -> str | None:
    return None if value > 0 else "must be > 0"


def in_unit_interval(value: float) -> str | None:
    return None if 0.0 <= value <= 1.0 else "must be in [0, 1]"


def device_name(value: str) -> str | None:
    base = value.split(":", 1)[0]
    if base not in DEVICES or (":" in value and (base != "cuda" or not value.split(":", 1)[1].isdigit())):
        return f"must be one of {DEVICES} or cuda:N"
    return None


class ParameterTable:
    """Declares ``specs`` on ``node`` with descriptors and rejects invalid values on set.

    The on-set callback also runs for the values given at start (defaults,
    --params-file, -p), so a bad YAML value stops the node with the reason.
    ``on_change(names)`` runs after accepted runtime changes.

    Args:
        node: the node.
        specs: its parameters.
        on_change: called with the names of changed parameters.
    """

    def __init__(self, node: Node, specs: Iterable[ParameterSpec],
                 on_change: Callable[[set[str]], None] = lambda names: None) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._on_change = on_change
        self._values: dict[str, Any] = {}
        self._declaring = True
        node.add_on_set_parameters_callback(self._on_set)
        for spec in self._specs.values():
            self._values[spec.name] = node.declare_parameter(spec.name, spec.default, spec.descriptor()).value
        self._declaring = False

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def _on_set(self, parameters) -> SetParametersResult:
        problems = []
        for parameter in parameters:
            spec = self._specs.get(parameter.name)
            if spec is None:
                continue
            problem = spec.problem(parameter.value)
            if problem:
                problems.append(f"{parameter.name}={parameter.value!r}: {problem}")
        if problems:
            return SetParametersResult(successful=False, reason="; ".join(problems))
        changed = {p.name for p in parameters if p.name in self._specs}
        for parameter in parameters:
            if parameter.name in self._specs:
                self._values[parameter.name] = parameter.value
        if not self._declaring and changed:
            self._on_change(changed)
        return SetParametersResult(successful=True)


# Parameters of every node that runs the model (posenet, meshnet, pose2mesh).
MODEL_PARAMETERS = (
    ParameterSpec("checkpoint", "", "Pose2Mesh checkpoint (.safetensors). Empty: the checkpoint "
                  "shipped in p2m_model.", read_only=True),
    ParameterSpec("body_model", "", "Body-model asset (.npz) the checkpoint was trained on. "
                  "Empty: the shipped Anny asset.", read_only=True),
    ParameterSpec("device", "auto", "Torch device: auto (CUDA when available), cpu, cuda or cuda:N.",
                  device_name, read_only=True),
    ParameterSpec("max_people", 16, "Most people per frame run through the model (one batch); "
                  "beyond it the people with the highest mean keypoint score are kept.",
                  lambda value: None if value >= 1 else "must be >= 1"),
    ParameterSpec("torch_threads", 1, "Torch intra-op CPU threads of this process; 0 = torch's "
                  "default (one per core). The pipeline's processes share the cores, so more "
                  "threads each oversubscribe them (docs/performance.md).",
                  lambda value: None if value >= 0 else "must be >= 0", read_only=True),
    ParameterSpec("input_qos", "reliable", "QoS of the model input (keypoints_2d, pose_3d): "
                  "reliable (every frame, queue of 10: bags, evaluation, files) or live (best "
                  "effort, newest frame only: cameras); dropped frames are counted as "
                  "input_dropped (p2m_nodes.runtime.qos).",
                  lambda value: None if value in MODEL_INPUT_QOS else f"must be one of {sorted(MODEL_INPUT_QOS)}",
                  read_only=True),
)


def load_predictor(parameters: ParameterTable):
    """The Pose2MeshPredictor named by the ``checkpoint``/``body_model``/``device`` parameters,
    with this process's torch threads set from ``torch_threads``, its network an
    inference copy (p2m_model.nn.inference: batch norm folded into the layers before it).

    Raises:
        FileNotFoundError, ValueError: from ``Pose2MeshPredictor.from_checkpoint``,
            naming the missing or bad file.
    """
    import torch  # torch loads here, after rclpy.init

    from p2m_model import Pose2MeshPredictor
    from p2m_model.nn.inference import inference_copy
    if parameters["torch_threads"]:
        torch.set_num_threads(parameters["torch_threads"])
    asset = None
    if parameters["body_model"]:
        from p2m_model.body.asset import BodyModelAsset

        asset = BodyModelAsset.load(parameters["body_model"])
    predictor = Pose2MeshPredictor.from_checkpoint(parameters["checkpoint"] or None, asset=asset,
                                                   device=parameters["device"])
    predictor.model = inference_copy(predictor.model)  # batch norm folded: same outputs, less work
    return predictor


def validation_config(predictor, max_people: int) -> ValidationConfig:
    """What the model accepts: its joint set, its confidence threshold, ``max_people``."""
    return ValidationConfig(skeleton=predictor.config.skeleton, num_joints=predictor.num_joints,
                            score_threshold=predictor.config.normalization.score_threshold,
                            max_people=max_people)


class NodeHealth:
    """A node's statistics, throttled warnings and 1 Hz DiagnosticArray on /diagnostics.

    Args:
        node: the node (its clock, logger; the timer and publisher are created on it).
        config: diagnostics thresholds.
    """

    def __init__(self, node: Node, config: DiagnosticsConfig | None = None) -> None:
        self._node = node
        self.stats = NodeStatistics(config or DiagnosticsConfig())
        self._throttle = WarningThrottle(WARNING_PERIOD_S)
        self._publisher = node.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, STREAM_QOS)
        self._timer = node.create_timer(DIAGNOSTICS_PERIOD_S, self.publish)

    def now_s(self) -> float:
        return self._node.get_clock().now().nanoseconds * 1e-9

    def warn(self, key: str, text: str) -> None:
        """Log ``text`` unless a warning with ``key`` was logged in the last few seconds."""
        if self._throttle.should_warn(key, self.now_s()):
            self._node.get_logger().warning(text)

    def rejected(self, rejections: Iterable[Rejection]) -> None:
        """Count and (throttled) warn about rejected people or frames."""
        now = self.now_s()
        for rejection in rejections:
            self.stats.item_rejected(now, rejection.reason)
            self.warn(rejection.reason, f"skipped {rejection}")

    def failed(self, error: Exception) -> None:
        """A frame could not be processed; the node goes on with the next."""
        description = f"{type(error).__name__}: {error}"
        self.stats.error(self.now_s(), description)
        self.warn("error", f"frame skipped, processing failed: {description}")

    def publish(self) -> None:
        summary = self.stats.summary(self.now_s())
        status = DiagnosticStatus(
            level=bytes([summary.level]), name=self._node.get_fully_qualified_name(),
            message=summary.message, hardware_id="p2m",
            values=[KeyValue(key=key, value=value) for key, value in summary.values.items()])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._publisher.publish(array)


def lift_frame(health: NodeHealth, lifting: Any, msg: Any, camera_matrix: Any = None) -> Any:
    """Count a Keypoints2DArray, lift it with ``lifting`` (a ``PoseLifting``) seen by
    ``camera_matrix`` ((3, 3) K or None), record rejected people and failures in ``health``;
    the Pose3DArray to publish, or None."""
    health.stats.frame_received(health.now_s(), stamp_seconds(msg.header.stamp))
    try:
        result = lifting(msg, camera_matrix)
    except (ValueError, RuntimeError) as error:
        health.failed(error)
        return None
    health.rejected(result.rejections)
    return result.message


def stamp_seconds(stamp) -> float:
    """builtin_interfaces/Time -> seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def use_fastdds_profile() -> str:
    """Point ``FASTDDS_DEFAULT_PROFILES_FILE`` at p2m_nodes/fastdds_profile.xml (a 32 MiB
    shared-memory segment, so meshes, markers and images stay off UDP fragments), or at
    fastdds_profile_localhost.xml when the discovery range is LOCALHOST, unless the
    variable is already set; must run before rclpy.init (:func:`init_ros` does both).
    Returns the file in effect.
    """
    # User transports bypass the RMW's localhost restriction: the localhost profile
    # keeps UDP on the loopback, or loopback-only peers would not hear these nodes.
    localhost = (os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").upper() == "LOCALHOST"
                 or os.environ.get("ROS_LOCALHOST_ONLY") == "1")
    name = "fastdds_profile_localhost.xml" if localhost else "fastdds_profile.xml"
    return os.environ.setdefault(FASTDDS_PROFILE_VARIABLE, str(resources.files(__package__) / name))


def init_ros(args: list[str] | None = None) -> None:
    """``rclpy.init(args=args)`` with p2m's Fast DDS profile in effect (:func:`use_fastdds_profile`):
    how every p2m process joins the graph, so all of them share one transport setup."""
    use_fastdds_profile()
    rclpy.init(args=args)


def run_node(node_factory: Callable[[], Node], args: list[str] | None = None,
             spin: Callable[[Node], int | None] = rclpy.spin) -> int:
    """How every p2m process runs its node: rclpy.init, build the node, ``spin`` it until it
    returns, Ctrl-C or shutdown, then destroy it and shut rclpy down; the exit code.

    The process keeps freed large blocks for reuse (p2m_model.allocator_tuning):
    model temporaries and multi-MB messages would otherwise page-fault in anew on
    every frame. Fast DDS gets p2m's profile unless one is set (:func:`use_fastdds_profile`).

    Startup errors that name a bad input (missing checkpoint, unwritable output
    path, invalid parameter) are printed as one line and give exit code 1
    instead of a traceback. Once shutdown begins, further SIGINTs are ignored
    (:func:`shut_down`); an exception that escapes ``spin`` after a SIGINT or once a
    signal shut rclpy down counts as a clean stop (exit code 0).

    Args:
        node_factory: builds the node (after rclpy.init).
        args: ROS arguments for rclpy.init; None = the process's command line.
        spin: runs the node; its return value is the exit code (None = 0). The default
            spins until shutdown; a node that ends on its own (file_source, bag_replay,
            the evaluator) passes one that returns when it is done.
    """
    reuse_freed_memory()
    interrupted = _record_sigint()  # before rclpy.init, whose handler passes SIGINT on to it
    init_ros(args)
    node = None
    try:
        node = node_factory()
        return spin(node) or 0
    except (KeyboardInterrupt, ExternalShutdownException):
        return 0
    except Exception as error:
        if interrupted.is_set() or not rclpy.ok():
            # A signal stops a node from two sides at once: rclpy's handler thread closes
            # the context under a callback that may be publishing (RCLError), and the
            # KeyboardInterrupt may land inside rclpy's C++ bindings, which turn it into
            # another exception. Either is part of the stop, not a failure.
            return 0
        if isinstance(error, (OSError, ValueError, InvalidParameterValueException)):
            print(f"{type(error).__name__}: {error}", file=sys.stderr)
            return 1
        raise
    finally:
        shut_down(node)


def _record_sigint() -> threading.Event:
    """Python's SIGINT behaviour (KeyboardInterrupt), also setting the returned event."""
    interrupted = threading.Event()

    def on_sigint(signum, frame) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    return interrupted


def _ignore_sigint() -> None:
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        pass  # a SIGINT that arrived just before: SIGINT is ignored now all the same


def shut_down(node: Node | None) -> None:
    """Destroy ``node`` (when built) and shut rclpy down, ignoring SIGINT from here on.

    ``ros2 launch`` forwards Ctrl-C to its nodes while the terminal (or ``timeout``)
    sends it to the whole process group as well, so a node gets two: the second one
    must not cut ``destroy_node`` short with a KeyboardInterrupt (a node that writes a
    bag or a report there would leave it half done). SIGTERM and SIGKILL still end
    a shutdown that hangs.
    """
    _ignore_sigint()
    if node is not None:
        node.destroy_node()
    # Uninstalls rclpy's signal handlers (left installed, their thread can hold up the
    # interpreter's exit) and puts back the SIGINT handler found at rclpy.init.
    rclpy.try_shutdown()
    _ignore_sigint()
    # The interpreter's exit would garbage-collect every object torch and the model left
    # (seconds on a busy CPU, while ros2 launch escalates to SIGTERM after 5 s): freed
    # by the process's end instead.
    gc.freeze()
