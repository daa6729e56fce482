"""rosbag2 (MCAP) files: reading and writing, making evaluation bags, recording, recovering, replaying."""
