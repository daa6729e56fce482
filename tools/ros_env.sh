#!/usr/bin/env bash
# The pip-only ROS 2 environment of p2m: the venv's ROS wheels + ros2_ws/install.
#
#   source tools/ros_env.sh             # in an interactive bash
#   tools/ros_env.sh COMMAND [ARGS...]  # run one command in that environment
#
# What it sets, in order:
# 1. The venv (.venv, or $P2M_VENV): VIRTUAL_ENV and PATH, as bin/activate does.
# 2. LD_LIBRARY_PATH and _ROS_WHEELS_BOOTSTRAP_COMPLETE=1. The ros-* wheels ship a
#    .pth hook (ros_wheels_bootstrapper) that, at every interpreter start without
#    _ROS_WHEELS_BOOTSTRAP_COMPLETE, re-executes the process with LD_LIBRARY_PATH =
#    <venv>/lib + <site-packages>/ros_*.libs. Setting the same here avoids that
#    re-exec (startup work done twice) in this shell and every child process.
# 3. AMENT_PREFIX_PATH / CMAKE_PREFIX_PATH = the venv, so rclpy, ament_index and
#    CMake find the wheels' packages (they are installed with prefix = the venv).
# 4. ros2_ws/install/setup.bash (the p2m packages), unless P2M_SKIP_WORKSPACE=1
#    (used by `make build`: colcon must not build in a shell with its own output
#    sourced).
# 5. DDS on loopback only: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST (Jazzy and
#    later) unless already set. ROS_DOMAIN_ID is left to the caller (the tests
#    pick one per session).

_p2m_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_p2m_venv="${P2M_VENV:-$_p2m_root/.venv}"
_p2m_setup="$_p2m_root/ros2_ws/install/setup.bash"

# At top level `return` ends a sourced script; in an executed one it fails and `exit` runs.
if [ ! -x "$_p2m_venv/bin/python" ]; then
    echo "ros_env.sh: no virtual environment at $_p2m_venv; run 'make venv' first" >&2
    return 1 2>/dev/null || exit 1
fi
if [ "${P2M_SKIP_WORKSPACE:-0}" != "1" ] && [ ! -f "$_p2m_setup" ]; then
    echo "ros_env.sh: no workspace at $_p2m_setup; run 'make build' first" >&2
    return 1 2>/dev/null || exit 1
fi

export VIRTUAL_ENV="$_p2m_venv"
case ":$PATH:" in
    *":$_p2m_venv/bin:"*) ;;
    *) export PATH="$_p2m_venv/bin:$PATH" ;;
esac
unset PYTHONHOME

# Same directories as ros_wheels_bootstrapper.get_ros_paths().
_p2m_ld="$_p2m_venv/lib"
for _p2m_libs in "$_p2m_venv"/lib/python3.*/site-packages/ros_*.libs; do
    [ -d "$_p2m_libs" ] && _p2m_ld="$_p2m_ld:$_p2m_libs"
done
export LD_LIBRARY_PATH="$_p2m_ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1

case ":${AMENT_PREFIX_PATH:-}:" in
    *":$_p2m_venv:"*) ;;
    *) export AMENT_PREFIX_PATH="$_p2m_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;;
esac
case ":${CMAKE_PREFIX_PATH:-}:" in
    *":$_p2m_venv:"*) ;;
    *) export CMAKE_PREFIX_PATH="$_p2m_venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;;
esac

export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"

if [ "${P2M_SKIP_WORKSPACE:-0}" != "1" ]; then
    # colcon's setup scripts read unset variables: relax `set -u` around them.
    case $- in *u*) _p2m_nounset=1; set +u ;; *) _p2m_nounset=0 ;; esac
    # shellcheck disable=SC1090
    source "$_p2m_setup"
    if [ "$_p2m_nounset" = 1 ]; then set -u; fi
fi
unset _p2m_root _p2m_venv _p2m_setup _p2m_ld _p2m_libs _p2m_nounset

# Executed (not sourced) with a command: run it in this environment.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then
    exec "$@"
fi
