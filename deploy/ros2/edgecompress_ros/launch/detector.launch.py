"""Launch the edgecompress detector node: ros2 launch edgecompress_ros detector.launch.py artifact:=/path."""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGUMENTS = {
    "artifact": "/opt/edgecompress/artifact",
    "image_topic": "/camera/image_raw",
    "compressed": "false",
    "detections_topic": "/edgecompress/detections",
    "annotated_topic": "",
    "score_threshold": "0.25",
    "qos": "sensor_data",
}


def generate_launch_description() -> LaunchDescription:
    """Declare every node parameter as a launch argument and start the node with them."""
    declared = [DeclareLaunchArgument(name, default_value=value) for name, value in ARGUMENTS.items()]
    node = Node(
        package="edgecompress_ros",
        executable="detector",
        name="edgecompress_detector",
        output="screen",
        parameters=[{name: LaunchConfiguration(name) for name in ARGUMENTS}],
    )
    return LaunchDescription([*declared, node])
