"""ROS 2 without ROS: CDR message conversion (``rosbags``) and bag-to-bag detection (``edgecompress bag``)."""
