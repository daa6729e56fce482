"""run_node, the one way a p2m process runs its node: what it does when signals come at awkward
moments (each case in a fresh interpreter, with real rclpy signal handling)."""
from __future__ import annotations

import textwrap

PRELUDE = textwrap.dedent("""
    import os, signal, time
    import rclpy
    import rclpy.signals
    from rclpy.node import Node
    from std_msgs.msg import String
    from p2m_nodes.runtime.node_support import run_node

    def interrupt_self():
        os.kill(os.getpid(), signal.SIGINT)
""")


def test_second_sigint_during_shutdown_is_ignored(run_python):
    """Launch forwards Ctrl-C and the terminal sends one too: the second SIGINT arrives while the
    node is being destroyed and must not end the process with a KeyboardInterrupt traceback."""
    code = PRELUDE + textwrap.dedent("""
        class SlowToStop(Node):
            def __init__(self):
                super().__init__("slow_to_stop")
                self.create_timer(0.1, interrupt_self)

            def destroy_node(self):
                interrupt_self()
                time.sleep(0.3)  # the second SIGINT is delivered in here
                super().destroy_node()
                print("destroyed", flush=True)

        raise SystemExit(run_node(SlowToStop, []))
    """)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "destroyed" in result.stdout
    assert "Traceback" not in result.stderr and "KeyboardInterrupt" not in result.stderr


def test_signal_under_a_publishing_callback_is_a_clean_stop(run_python):
    """rclpy's signal handler closes the context from its own thread while a callback runs; the
    callback's next publish fails on the closed context, which is part of stopping, not an error.
    (SIGTERM: rclpy shuts down on it, and no KeyboardInterrupt comes first.)"""
    code = PRELUDE + textwrap.dedent("""
        class Publishing(Node):
            def __init__(self):
                super().__init__("publishing")
                self.publisher = self.create_publisher(String, "chatter", 10)
                self.create_timer(0.1, self.tick)

            def tick(self):
                os.kill(os.getpid(), signal.SIGTERM)
                deadline = time.monotonic() + 5.0
                while rclpy.ok() and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.publisher.publish(String(data="after shutdown"))  # raises: context invalid

        raise SystemExit(run_node(Publishing, []))
    """)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_sigint_surfacing_as_another_exception_is_a_clean_stop(run_python):
    """A KeyboardInterrupt raised while rclpy's C++ bindings convert a message comes out as a
    RuntimeError (pybind11: "Unable to convert call argument"), before rclpy's handler thread
    has closed the context; seen in a visualizer_node stopped by ros2 launch. Without rclpy's
    handlers the context stays open, as it is in that moment."""
    code = PRELUDE + textwrap.dedent("""
        class Converting(Node):
            def __init__(self):
                super().__init__("converting")
                rclpy.signals.uninstall_signal_handlers()
                self.create_timer(0.1, self.tick)

            def tick(self):
                try:
                    interrupt_self()
                    time.sleep(1.0)
                except KeyboardInterrupt:
                    raise RuntimeError("Unable to convert call argument '0' to Python object") from None

        raise SystemExit(run_node(Converting, []))
    """)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_startup_error_is_one_line_and_exit_code_1(run_python):
    code = PRELUDE + textwrap.dedent("""
        def broken():
            raise FileNotFoundError("checkpoint not found: /nope.safetensors")

        raise SystemExit(run_node(broken, []))
    """)
    result = run_python(code)
    assert result.returncode == 1
    assert result.stderr.strip() == "FileNotFoundError: checkpoint not found: /nope.safetensors"
