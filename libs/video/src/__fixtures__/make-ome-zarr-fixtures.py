#!/usr/bin/python3
"""Writes the OME-Zarr fixtures of ome-zarr.spec.ts into ome-zarr/ beside this script.

NGFF 0.4 (Zarr v2) stores are written by an independent writer, Debian's python3-zarr (zarr 2.13):
    apt-get install -y python3-zarr python3-numpy && /usr/bin/python3 make-ome-zarr-fixtures.py
zarr 2.13 cannot write Zarr v3, so the NGFF 0.5 store is written here by hand, following the Zarr
v3 spec (zarr.json documents, "bytes" and "gzip" codecs, default chunk key encoding).

The pixel formulas below are recomputed in ome-zarr.spec.ts; change both together.
"""

import gzip
import json
import os
import shutil

import numpy as np
import zarr

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ome-zarr")


def pixel_u16(t, c, z, y, x):
    return (c * 10000 + t * 1000 + z * 500 + y * 37 + x * 11) % 65536


def pixel_u8(t, y, x):
    return (t * 20 + y * 3 + x * 5) % 256


def pixel_f32(z, y, x):
    return (z - 1) * 100.0 + y * 0.5 - x * 0.25


def grid(shape, fn):
    return np.fromfunction(np.vectorize(fn), shape, dtype=np.int64)


def write_v2(name, data, axes, scales, chunks, compressor, omero=None, levels=1):
    """A Zarr v2 group with NGFF 0.4 multiscales; level k halves y and x."""
    folder = os.path.join(HERE, name)
    store = zarr.DirectoryStore(folder, dimension_separator="/")
    root = zarr.group(store=store, overwrite=True)
    datasets = []
    spatial = [i for i, a in enumerate(axes) if a["type"] == "space" and a["name"] in ("y", "x")]
    for level in range(levels):
        step = tuple(2**level if i in spatial else 1 for i in range(data.ndim))
        level_data = data[tuple(slice(None, None, s) for s in step)]
        root.create_dataset(str(level), data=level_data, chunks=chunks, compressor=compressor, dimension_separator="/", overwrite=True)
        scale = [s * f for s, f in zip(scales, step)]
        datasets.append({"path": str(level), "coordinateTransformations": [{"type": "scale", "scale": scale}]})
    root.attrs["multiscales"] = [{"version": "0.4", "name": name, "axes": axes, "datasets": datasets}]
    if omero is not None:
        root.attrs["omero"] = omero


def write_v3(name, data, axes, scales, chunk_shape, labels, multiscale_scale):
    """A Zarr v3 group with NGFF 0.5 attributes under "ome", written by hand (see the module doc)."""
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "0"))
    group = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {
            "ome": {
                "version": "0.5",
                "multiscales": [
                    {
                        "name": name,
                        "axes": axes,
                        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scales}]}],
                        "coordinateTransformations": [{"type": "scale", "scale": multiscale_scale}],
                    }
                ],
                "omero": {"channels": [{"label": label, "active": True} for label in labels]},
            }
        },
    }
    array = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(data.shape),
        "data_type": "uint16",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunk_shape)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip", "configuration": {"level": 5}}],
        "dimension_names": [a["name"] for a in axes],
        "attributes": {},
    }
    with open(os.path.join(folder, "zarr.json"), "w") as f:
        json.dump(group, f, indent=2)
    with open(os.path.join(folder, "0", "zarr.json"), "w") as f:
        json.dump(array, f, indent=2)
    counts = [-(-n // c) for n, c in zip(data.shape, chunk_shape)]
    for coords in np.ndindex(*counts):
        # Edge chunks are stored whole, padded with the fill value, as the spec requires.
        chunk = np.zeros(chunk_shape, dtype="<u2")
        part = data[tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, chunk_shape))]
        chunk[tuple(slice(0, n) for n in part.shape)] = part
        path = os.path.join(folder, "0", "c", *[str(i) for i in coords])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(gzip.compress(chunk.tobytes(), compresslevel=5, mtime=0))


def main():
    os.makedirs(HERE, exist_ok=True)
    time_minute = {"name": "t", "type": "time", "unit": "minute"}
    channel = {"name": "c", "type": "channel"}
    um = lambda n: {"name": n, "type": "space", "unit": "micrometer"}  # noqa: E731
    nm = lambda n: {"name": n, "type": "space", "unit": "nanometer"}  # noqa: E731

    # t=5 c=2 z=1 y=24 x=20, uint16, Blosc (zarr's default), chunks not dividing the image, two levels.
    write_v2(
        "v04-tczyx-uint16.zarr",
        grid((5, 2, 1, 24, 20), pixel_u16).astype("<u2"),
        [time_minute, channel, um("z"), um("y"), um("x")],
        [0.5, 1.0, 2.0, 0.65, 0.65],
        (1, 1, 1, 10, 8),
        zarr.Blosc(cname="lz4", clevel=5, shuffle=zarr.Blosc.SHUFFLE),
        omero={"channels": [{"label": "phase", "active": True}, {"label": "GFP", "active": True}]},
        levels=2,
    )
    # t=6 y=24 x=20, uint8, no compressor (raw chunks), no omero, nanometres, a time axis without unit.
    write_v2(
        "v04-tyx-uint8.zarr",
        grid((6, 24, 20), pixel_u8).astype("u1"),
        [{"name": "t", "type": "time"}, nm("y"), nm("x")],
        [1.0, 650.0, 650.0],
        (2, 12, 10),
        None,
    )
    # z=3 y=16 x=12, float32, zlib: no time axis (one frame), the middle slice, rescaled to uint16.
    write_v2(
        "v04-zyx-float32.zarr",
        grid((3, 16, 12), pixel_f32).astype("<f4"),
        [um("z"), um("y"), um("x")],
        [1.0, 0.5, 0.5],
        (1, 8, 8),
        zarr.Zlib(level=5),
    )
    # NGFF 0.5: t=4 c=3 y=16 x=12, uint16, bytes + gzip; ms timestep, a multiscale-level scale on t.
    write_v3(
        "v05-tcyx-uint16.zarr",
        grid((4, 3, 16, 12), lambda t, c, y, x: pixel_u16(t, c, 0, y, x)).astype("<u2"),
        [{"name": "t", "type": "time", "unit": "millisecond"}, channel, um("y"), um("x")],
        [500.0, 1.0, 0.325, 0.325],
        (1, 1, 8, 8),
        ["phase", "mCherry", "GFP"],
        [2.0, 1.0, 1.0, 1.0],
    )


if __name__ == "__main__":
    main()
