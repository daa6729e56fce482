"""The networks: Chebyshev graph convolution, PoseNet, MeshNet, the cascade, input normalization and losses."""
