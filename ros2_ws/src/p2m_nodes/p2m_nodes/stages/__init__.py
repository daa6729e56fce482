"""Pure message <-> numpy <-> model code of the nodes, testable without a ROS graph."""
