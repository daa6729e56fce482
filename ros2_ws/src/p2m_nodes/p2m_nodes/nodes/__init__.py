"""The pipeline's model nodes: posenet_node, meshnet_node, pose2mesh_node (both in one process), visualizer_node."""
