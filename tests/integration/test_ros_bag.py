"""`edgecompress bag` and `--sink ros2bag` on real rosbag2 bags (mcap, sqlite3) written/read by rosbags."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

import edgecompress
from edgecompress.cli import main
from edgecompress.ros import messages as m

T0 = 1_700_000_000_000_000_000


def _frames(digits_video: Path, count: int = 6) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(digits_video))
    return [cap.read()[1] for _ in range(count)]


def _write_bag(path: Path, storage: StoragePlugin, frames: list[np.ndarray], encoding: str = "bgr8") -> Path:
    """Raw bgr8 images on /camera/image_raw, JPEGs on /camera/compressed, and an Imu topic."""
    store = m.typestore()
    with Writer(path, version=8, storage_plugin=storage) as writer:
        raw_c = writer.add_connection("/camera/image_raw", m.IMAGE, typestore=store)
        jpg_c = writer.add_connection("/camera/compressed", m.COMPRESSED, typestore=store)
        imu_c = writer.add_connection("/imu", "sensor_msgs/msg/Imu", typestore=store)
        for i, frame in enumerate(frames):
            stamp = T0 + i * 33_000_000
            hdr = m.header(stamp - 1000, f"cam_optical_{i}")  # header stamp differs from bag time on purpose
            image = m.image_to_msg(frame, hdr)
            image.encoding = encoding
            writer.write(raw_c, stamp, m.encode(image, m.IMAGE))
            jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].reshape(-1)
            writer.write(
                jpg_c,
                stamp,
                m.encode(store.types[m.COMPRESSED](header=hdr, format="jpeg", data=jpeg), m.COMPRESSED),
            )
        imu = store.types["sensor_msgs/msg/Imu"]
        writer.write(imu_c, T0, store.serialize_cdr(_zero_imu(store, imu), "sensor_msgs/msg/Imu"))
    return path


def _zero_imu(store, imu_type):
    t = store.types
    vec, quat = (
        t["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.0),
        t["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
    )
    cov = np.zeros(9)
    return imu_type(
        header=m.header(T0, "imu"),
        orientation=quat,
        orientation_covariance=cov,
        angular_velocity=vec,
        angular_velocity_covariance=cov,
        linear_acceleration=vec,
        linear_acceleration_covariance=cov,
    )


def _read(path: Path) -> dict[str, list]:
    """topic -> [(msgtype, bag time, message)]."""
    out: dict[str, list] = {}
    with Reader(path) as reader:
        for conn, timestamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append((conn.msgtype, timestamp, m.decode(raw, conn.msgtype)))
    return out


@pytest.fixture(scope="module")
def frames(digits_video) -> list[np.ndarray]:
    return _frames(digits_video)


@pytest.fixture(scope="module")
def mcap_bag(tmp_path_factory, frames) -> Path:
    return _write_bag(tmp_path_factory.mktemp("bags") / "in_mcap", StoragePlugin.MCAP, frames)


@pytest.fixture(scope="module")
def sqlite_bag(tmp_path_factory, frames) -> Path:
    return _write_bag(tmp_path_factory.mktemp("bags") / "in_sqlite", StoragePlugin.SQLITE3, frames)


def _check_detections(written: list, frames: list[np.ndarray], detector, tol: float = 0.01) -> None:
    assert [w[0] for w in written] == [m.DETECTIONS] * len(frames)
    for i, ((_, timestamp, msg), frame) in enumerate(zip(written, frames, strict=True)):
        assert timestamp == T0 + i * 33_000_000
        assert msg.header.frame_id == f"cam_optical_{i}"
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == T0 + i * 33_000_000 - 1000
        expected = detector.predict(frame)
        assert len(msg.detections) == len(expected) > 0
        for det, box, label, score in zip(
            msg.detections, expected.boxes, expected.labels, expected.scores, strict=True
        ):
            centre = det.bbox.center.position
            np.testing.assert_allclose(
                [centre.x, centre.y, det.bbox.size_x, det.bbox.size_y],
                [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]],
                atol=tol,
            )
            assert det.results[0].hypothesis.class_id == label
            assert det.results[0].hypothesis.score == pytest.approx(float(score), abs=1e-6)


def test_mcap_bag_to_single_mcap_file(ort_artifact, mcap_bag, frames, tmp_path, capsys):
    out = tmp_path / "out.mcap"
    assert main(["bag", str(ort_artifact), str(mcap_bag), str(out), "--topic", "/camera/image_raw"]) == 0
    assert f"{out}: 6 sensor_msgs/msg/Image messages" in capsys.readouterr().out
    assert out.is_file() and not list(tmp_path.glob("*.partial-*"))
    written = _read(out)
    assert set(written) == {"/edgecompress/detections"}
    _check_detections(written["/edgecompress/detections"], frames, edgecompress.load(ort_artifact))


def test_sqlite_bag_compressed_topic_with_annotated_and_kept_images(
    ort_artifact, sqlite_bag, frames, tmp_path
):
    out = tmp_path / "out_dir"
    argv = [
        "bag",
        str(ort_artifact),
        str(sqlite_bag),
        str(out),
        "--topic",
        "/camera/compressed",
        "--storage",
        "sqlite3",
    ]
    assert (
        main([*argv, "--annotated-topic", "/camera/annotated", "--keep-images", "--out-topic", "/dets"]) == 0
    )
    assert (out / "metadata.yaml").is_file() and list(out.glob("*.db3"))
    written = _read(out)
    assert set(written) == {"/dets", "/camera/annotated", "/camera/compressed"}
    detector = edgecompress.load(ort_artifact)
    decoded = [m.image_from_msg(msg, m.COMPRESSED) for _, _, msg in written["/camera/compressed"]]
    _check_detections(written["/dets"], decoded, detector)
    annotated = written["/camera/annotated"]
    assert [a[0] for a in annotated] == [m.IMAGE] * 6
    assert annotated[2][2].header.frame_id == "cam_optical_2" and annotated[2][2].encoding == "bgr8"
    assert not np.array_equal(m.image_from_msg(annotated[2][2], m.IMAGE), decoded[2])


def test_stream_ros2bag_sink_writes_one_message_per_frame(ort_artifact, digits_video, tmp_path):
    out = tmp_path / "stream.mcap"
    argv = ["run", str(ort_artifact), "--source", str(digits_video), "--every-frame", "--quiet"]
    assert (
        main([*argv, "--sink", "ros2bag", "--out", str(out), "--frame-id", "down_cam", "--topic", "/d"]) == 0
    )
    written = _read(out)["/d"]
    assert len(written) == 32 and {w[0] for w in written} == {m.DETECTIONS}
    stamps = [w[2].header.stamp.sec * 10**9 + w[2].header.stamp.nanosec for w in written]
    assert stamps == [w[1] for w in written] and stamps == sorted(stamps)
    assert {w[2].header.frame_id for w in written} == {"down_cam"}
    detector = edgecompress.load(ort_artifact)
    assert len(written[0][2].detections) == len(detector.predict(_frames(digits_video, 1)[0]))


def _bad(tmp_path, capsys, bag_in, *extra) -> str:
    out = tmp_path / "out.mcap"
    code = main(["bag", *extra[:1], str(bag_in), str(out), "--topic", *extra[1:]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    assert not out.exists() and not list(tmp_path.glob("out.mcap.partial-*"))
    return err[0]


def test_bad_bags_and_topics_are_one_line_and_exit_2(ort_artifact, mcap_bag, frames, tmp_path, capsys):
    art = str(ort_artifact)
    assert "topic /nope is not in" in _bad(tmp_path, capsys, mcap_bag, art, "/nope")
    assert "/camera/image_raw" in _bad(tmp_path, capsys, mcap_bag, art, "/nope")  # lists what is there
    assert "topic /imu carries sensor_msgs/msg/Imu" in _bad(tmp_path, capsys, mcap_bag, art, "/imu")
    assert "bag" in _bad(tmp_path, capsys, tmp_path / "missing.mcap", art, "/camera/image_raw")
    garbage = tmp_path / "garbage.mcap"
    garbage.write_bytes(b"\x89MCAP0\r\n" + b"\x00" * 64)
    assert "cannot read bag" in _bad(tmp_path, capsys, garbage, art, "/camera/image_raw")
    (mcap_file,) = mcap_bag.glob("*.mcap")
    truncated = tmp_path / "truncated.mcap"
    truncated.write_bytes(mcap_file.read_bytes()[: mcap_file.stat().st_size // 2])
    assert "cannot read bag" in _bad(tmp_path, capsys, truncated, art, "/camera/image_raw")
    bayer = _write_bag(tmp_path / "bayer", StoragePlugin.MCAP, frames[:1], encoding="bayer_rggb8")
    assert "unsupported image encoding 'bayer_rggb8'" in _bad(
        tmp_path, capsys, bayer, art, "/camera/image_raw"
    )
