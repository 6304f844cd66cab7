"""ROS 2 topic names, domain ids and QoS for the DDS transport, and their bad-input errors on the CLI."""

import pytest

from edgecompress.cli import main
from edgecompress.errors import InputError
from edgecompress.ros.dds import EndpointEvents, ros_type_name
from edgecompress.ros.dds_source import image_msgtype
from edgecompress.ros.names import dds_topic_name, domain_id, full_topic_name
from edgecompress.ros.qos import SENSOR_DATA, QosSpec, profile


@pytest.mark.parametrize(
    ("name", "full"),
    [
        ("/camera/image_raw", "/camera/image_raw"),
        ("camera/image_raw", "/camera/image_raw"),
        ("/_private/x9", "/_private/x9"),
        ("/a" * 123 + "b", "/a" * 123 + "b"),  # 247 characters, rmw's limit
    ],
)
def test_valid_topic_names(name, full):
    assert full_topic_name(name) == full
    assert dds_topic_name(name) == "rt" + full


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "empty ROS 2 topic name"),
        ("/", "ends with '/'"),
        ("/camera/", "ends with '/'"),
        ("/camera//image", "contains '//'"),
        ("/camera/1image", "the part '1image' starts with a digit"),
        ("/cam-era", "contains '-'"),
        ("/camera image", "contains ' '"),
        ("/kamera/bild_ä", "contains 'ä'"),
        ("/a" * 124, "longer than 247 characters"),
        ("~/image", "needs a node to expand"),
        ("/{node}/image", "needs a node to expand"),
    ],
)
def test_topic_names_ros2_rejects(name, words):
    with pytest.raises(InputError, match=words):
        full_topic_name(name)


@pytest.mark.parametrize(("value", "domain"), [(None, 0), ("", 0), ("0", 0), (" 42 ", 42), ("232", 232)])
def test_domain_id(value, domain):
    assert domain_id({} if value is None else {"ROS_DOMAIN_ID": value}) == domain


@pytest.mark.parametrize("value", ["233", "-1", "abc", "1.5", "0x10"])
def test_invalid_domain_id(value):
    with pytest.raises(InputError, match=f"invalid ROS_DOMAIN_ID '{value}'.*0 to 232"):
        domain_id({"ROS_DOMAIN_ID": value})


def test_qos_and_message_types():
    assert QosSpec.parse("best_effort", 5).words() == "best effort, keep last 5"
    assert QosSpec.parse("reliable", 10) == QosSpec(True, 10)
    with pytest.raises(InputError, match="QoS depth 0 is not positive"):
        QosSpec(True, 0)
    # the ROS node's qos parameter means the same
    assert profile("sensor_data") == SENSOR_DATA == QosSpec(False, 5)
    assert profile("reliable") == QosSpec(True, 10) and profile("best_effort", 3) == QosSpec(False, 3)
    with pytest.raises(InputError, match="unknown QoS profile 'fast'"):
        profile("fast")
    assert image_msgtype("/camera/image_raw") == "sensor_msgs/msg/Image"
    assert image_msgtype("/camera/image_raw/compressed") == "sensor_msgs/msg/CompressedImage"
    assert (
        image_msgtype("/camera/image_raw", "sensor_msgs/CompressedImage") == "sensor_msgs/msg/CompressedImage"
    )
    assert ros_type_name("sensor_msgs::msg::dds_::Imu_") == "sensor_msgs/msg/Imu"
    assert ros_type_name("SomeVendorType") == "SomeVendorType"


def test_incompatible_qos_is_explained_with_the_fix():
    lines: list[str] = []
    events = EndpointEvents(
        "/camera/image_raw", QosSpec(True, 5), False, lines.append, "--source-reliability"
    )
    events._incompatible(11)
    events._incompatible(11)  # said once
    assert lines == [
        "warning: ros2: /camera/image_raw: a publisher has incompatible QoS (reliability) with this "
        "subscriber (reliable, keep last 5), so nothing is received from it "
        "(it publishes best effort: pass --source-reliability best_effort)"
    ]
    sink = EndpointEvents("/detections", QosSpec(False, 10), True, lines.append, "--sink-reliability")
    assert sink.explain(11).endswith("(it requests reliable: pass --sink-reliability reliable)")
    assert "transient_local" in sink.explain(2)


@pytest.mark.parametrize(
    ("extra", "env", "words"),
    [
        (["--source", "ros2:/camera/1image"], {}, "invalid ROS 2 topic name '/camera/1image'"),
        (["--source", "ros2:"], {}, "--source ros2 needs a topic"),
        (["--source", "ros2:/cam", "--ros-type", "sensor_msgs/msg/Imu"], {}, "unknown message type"),
        (["--source", "ros2:/cam", "--source-depth", "0"], {}, "QoS depth 0 is not positive"),
        (["--source", "ros2:/cam"], {"ROS_DOMAIN_ID": "300"}, "invalid ROS_DOMAIN_ID '300'"),
        (["--source", "video.mp4", "--sink", "ros2"], {}, "--sink ros2 needs a topic"),
        (["--source", "video.mp4", "--sink", "ros2:/detections/"], {}, "ends with '/'"),
        (["--source", "video.mp4", "--sink", "ros2:/d"], {"ROS_DOMAIN_ID": "x"}, "invalid ROS_DOMAIN_ID 'x'"),
        (
            ["--source", "video.mp4", "--ros-type", "sensor_msgs/msg/Image"],
            {},
            "--ros-type is for a ros2: source",
        ),
    ],
)
def test_bad_ros2_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, extra, env, words):
    """Checked before the model loads (the artifact here is an empty folder) and before DDS starts."""
    monkeypatch.delenv("ROS_DOMAIN_ID", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["run", str(tmp_path), "--quiet", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err


def test_untested_or_missing_cyclonedds_is_a_clear_error(monkeypatch):
    from importlib import metadata

    from edgecompress.ros import cyclonedds_octets

    monkeypatch.setattr(metadata, "version", lambda name: "0.10.5")
    with pytest.raises(InputError, match=r"cyclonedds 0.10.5 is installed.*pip install cyclonedds==11.0.1"):
        cyclonedds_octets.check_version()

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    with pytest.raises(InputError, match=r"cyclonedds is not installed.*Linux aarch64"):
        cyclonedds_octets.check_version()
