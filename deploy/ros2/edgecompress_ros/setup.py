"""ament_python package: the edgecompress detector node."""

from glob import glob

from setuptools import setup

package_name = "edgecompress_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/launch", glob("launch/*.launch.py")),
        (f"share/{package_name}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="edgecompress",
    description="Runs an edgecompress artifact on camera images and publishes vision_msgs/Detection2DArray.",
    license="AGPL-3.0-or-later",
    entry_points={"console_scripts": ["detector = edgecompress_ros.node:main"]},
)
