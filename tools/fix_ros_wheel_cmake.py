"""Point the ROS 2 PyPI wheels' CMake exports at this interpreter's headers.

The ``*__rosidl_generator_pyExport.cmake`` files shipped in the ``ros-*``
wheels carry the include directories of the machine that built the wheels
(``/opt/python/cp311-cp311/include/python3.11`` and that machine's
``.../site-packages/numpy/_core/include``). ``colcon build`` of an interface
package then fails to find ``Python.h`` / numpy headers. This script rewrites
those two paths, in every ``.cmake`` file under ``<prefix>/share``, to the
running interpreter's include directory and ``numpy.get_include()``
(docs/ros2-from-pypi.md, trap 3).

Idempotent: a second run finds nothing to rewrite. Run it with the venv's
Python so that ``sys.prefix`` is the venv.
"""

from __future__ import annotations

import argparse
import re
import sys
import sysconfig
from pathlib import Path

# The build machine's paths, for any CPython 3.x tag the wheels were built for.
_PYTHON_INCLUDE_RE = re.compile(r"/opt/python/cp3\d+-cp3\d+/include/python3\.\d+")
_NUMPY_INCLUDE_RE = re.compile(
    r"/opt/python/cp3\d+-cp3\d+/lib/python3\.\d+/site-packages/numpy/(?:_core|core)/include"
)


def rewrite_text(text: str, python_include: str, numpy_include: str) -> str:
    """Return ``text`` with the build machine's include paths replaced.

    The numpy pattern is applied first: it is not a prefix of the Python one,
    but rewriting it first keeps the two substitutions independent.
    """
    text = _NUMPY_INCLUDE_RE.sub(numpy_include, text)
    return _PYTHON_INCLUDE_RE.sub(python_include, text)


def fix_prefix(prefix: Path, python_include: str, numpy_include: str) -> list[Path]:
    """Rewrite every ``.cmake`` file under ``prefix/share``; return the changed files."""
    share = prefix / "share"
    if not share.is_dir():
        raise FileNotFoundError(f"no share/ directory under prefix {prefix}")
    changed = []
    for cmake_file in sorted(share.rglob("*.cmake")):
        original = cmake_file.read_text(encoding="utf-8")
        fixed = rewrite_text(original, python_include, numpy_include)
        if fixed != original:
            cmake_file.write_text(fixed, encoding="utf-8")
            changed.append(cmake_file)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prefix",
        type=Path,
        default=Path(sys.prefix),
        help="install prefix holding the ROS wheels' share/ (default: this Python's prefix)",
    )
    args = parser.parse_args(argv)

    import numpy  # imported here: only needed when actually fixing a prefix

    python_include = sysconfig.get_paths()["include"]
    if not (Path(python_include) / "Python.h").is_file():
        raise FileNotFoundError(
            f"Python.h not found in {python_include}; install the Python development headers"
        )
    changed = fix_prefix(args.prefix, python_include, numpy.get_include())
    print(f"fix_ros_wheel_cmake: rewrote {len(changed)} file(s) under {args.prefix / 'share'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
