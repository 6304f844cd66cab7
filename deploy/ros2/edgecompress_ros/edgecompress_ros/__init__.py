"""ROS 2 shell around edgecompress: the node passes serialized messages to edgecompress.ros.messages."""
