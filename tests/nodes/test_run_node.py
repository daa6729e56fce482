"""run_node, the one way a p2m process runs its node: what it does when signals come at awkward
moments (each case in a fresh interpreter, with real rclpy signal handling)."""
from __future__ import annotations

import textwrap

PRELUDE = textwrap.dedent("""
    import os, signal, time
    import rclpy
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


def test_sigint_under_a_publishing_callback_is_a_clean_stop(run_python):
    """rclpy's signal handler closes the context from its own thread while a callback runs; the
    callback's next publish fails on the closed context, which is part of stopping, not an error.

    rclpy also passes the SIGINT on to Python's handler, whose KeyboardInterrupt may come
    first or later; a no-op handler (what rclpy finds at init and chains to) leaves only the
    failing publish, the case a node hit in ``ros2 launch``."""
    code = PRELUDE + textwrap.dedent("""
        class Publishing(Node):
            def __init__(self):
                super().__init__("publishing")
                self.publisher = self.create_publisher(String, "chatter", 10)
                self.create_timer(0.1, self.tick)

            def tick(self):
                interrupt_self()
                deadline = time.monotonic() + 5.0
                while rclpy.ok() and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.publisher.publish(String(data="after shutdown"))  # raises: context invalid

        signal.signal(signal.SIGINT, lambda signum, frame: None)
        raise SystemExit(run_node(Publishing, []))
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
