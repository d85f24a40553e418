#!/usr/bin/python3
"""Writes the OME-TIFF and ImageJ hyperstack fixtures of tiff-metadata.spec.ts and
read-video.spec.ts into ome-tiff/ beside this script.

They come from an independent writer, Debian's python3-tifffile (tifffile 2023.2.3):
    apt-get install -y python3-tifffile python3-numpy && /usr/bin/python3 make-ome-tiff-fixtures.py

The pixel formula below is recomputed in the specs; change both together.
"""

import os

import numpy as np
import tifffile

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ome-tiff")
HEIGHT, WIDTH = 20, 24


def pixel(t, c, z, y, x):
    return (t * 1000 + c * 10000 + z * 300 + y * 37 + x * 11) % 65536


def stack(sizes, axes, dtype):
    """An array of the given axes (a subset of TCZYX order, any order) filled by `pixel`."""
    def value(*index):
        coords = dict(zip(axes, index))
        return pixel(coords.get("T", 0), coords.get("C", 0), coords.get("Z", 0), coords["Y"], coords["X"])

    data = np.fromfunction(np.vectorize(value), sizes, dtype=np.int64)
    if dtype == np.uint8:
        data = data % 256
    return data.astype(dtype)


def main():
    os.makedirs(HERE, exist_ok=True)
    # T=4, C=2, Z=1, 16-bit: DimensionOrder XYCZT (channel fastest), sizes in µm and minutes.
    tifffile.imwrite(
        os.path.join(HERE, "t4-c2-uint16.ome.tif"),
        stack((4, 2, HEIGHT, WIDTH), "TCYX", np.uint16),
        ome=True,
        photometric="minisblack",
        metadata={
            "axes": "TCYX",
            "Channel": {"Name": ["phase", "GFP"]},
            "PhysicalSizeX": 0.65,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": 0.65,
            "PhysicalSizeYUnit": "µm",
            "TimeIncrement": 5,
            "TimeIncrementUnit": "min",
        },
    )
    # T=2, C=2, Z=3, 16-bit, zlib: DimensionOrder XYZTC (z fastest, channel slowest), sizes in nm and ms.
    tifffile.imwrite(
        os.path.join(HERE, "t2-c2-z3-uint16.ome.tif"),
        stack((2, 2, 3, HEIGHT, WIDTH), "CTZYX", np.uint16),
        ome=True,
        photometric="minisblack",
        compression="zlib",
        metadata={
            "axes": "CTZYX",
            "Channel": {"Name": ["DAPI", "phase"]},
            "PhysicalSizeX": 650,
            "PhysicalSizeXUnit": "nm",
            "PhysicalSizeY": 700,
            "PhysicalSizeYUnit": "nm",
            "TimeIncrement": 1500,
            "TimeIncrementUnit": "ms",
        },
    )
    # ImageJ hyperstack, 8-bit: frames=3, channels=2, slices=1, pages in CZT order (channel fastest).
    tifffile.imwrite(
        os.path.join(HERE, "imagej-t3-c2-uint8.tif"),
        stack((3, 1, 2, HEIGHT, WIDTH), "TZCYX", np.uint8),
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={"axes": "TZCYX", "finterval": 2.5, "unit": "micron"},
    )
    # A plain ImageJ stack (images=N, no frames or slices): every page a frame. tifffile's ImageJ
    # writer always names an axis, so the description ImageJ writes for such a stack is given as is.
    tifffile.imwrite(
        os.path.join(HERE, "imagej-plain-uint16.tif"),
        stack((3, HEIGHT, WIDTH), "TYX", np.uint16),
        photometric="minisblack",
        description="ImageJ=1.54f\nimages=3\nunit=micron\n",
        metadata=None,
        resolution=(4, 4),
        resolutionunit="NONE",
    )


if __name__ == "__main__":
    main()
