from setuptools import find_packages, setup

package_name = "p2m_nodes"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={"p2m_nodes.runtime": ["fastdds_profile.xml", "fastdds_profile_localhost.xml"]},
    data_files=[
        # Registers the package in the ament index so ros2 run/launch find it.
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="p2m developers",
    maintainer_email="p2m-dev@example.com",
    description="ROS 2 nodes of the p2m pipeline: 2D keypoints to 3D pose to body mesh.",
    license="Apache-2.0",
    entry_points={
        # One line per executable: "name = p2m_nodes.module:main".
        "console_scripts": [
            "posenet_node = p2m_nodes.nodes.posenet_node:main",
            "meshnet_node = p2m_nodes.nodes.meshnet_node:main",
            "pose2mesh_node = p2m_nodes.nodes.pose2mesh_node:main",
            "visualizer_node = p2m_nodes.nodes.visualizer_node:main",
            "p2m_pipeline = p2m_nodes.runtime.pipeline_runner:main",
            "synthetic_source = p2m_nodes.sources.synthetic_source:main",
            "bag_maker = p2m_nodes.bags.maker:main",
            "bag_replay = p2m_nodes.bags.replay:main",
            "evaluator = p2m_nodes.evaluation.evaluator_node:main",
            "bag_recorder = p2m_nodes.bags.recorder:main",
            "bag_recover = p2m_nodes.bags.recover:main",
            "camera_source = p2m_nodes.sources.camera_source:main",
            "file_source = p2m_nodes.sources.file_source:main",
        ],
    },
)
