"""Reference client of the harness subprocess protocol, version 1 (docs/plugins.md).

Needs only numpy. Write a class with ``name``, ``input_size`` (None = native, or (width, height)),
``max_batch`` and ``localize(images)``, where ``images`` is a list of ``(id, pixels)`` with
``pixels`` a (height, width, 3) uint8 array, returning a list of ``(map, score)``: ``map`` a
(height, width) array of values in [0,1], ``score`` a float in [0,1] or None. Then call
``serve(YourClass)``: the class is built from the suite's ``params`` dict (raise ``ParamError``
for a bad one) and serves requests on stdin/stdout until the harness shuts it down.

Anything the localizer prints goes to stderr (the harness shows its last lines on failure);
stdout carries only protocol frames.
"""

import json
import os
import struct
import sys
import traceback

import numpy as np

PROTOCOL_VERSION = 1
_MAX_HEADER_BYTES = 1 << 20


class ParamError(ValueError):
    """A construction parameter is wrong; ``param`` names it, the message says how to fix it."""

    def __init__(self, param, message):
        super().__init__(message)
        self.param = param


def _read_exact(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise EOFError(f"stream ended after {len(data)} of {n} bytes")
    return data


def read_frame(stream):
    """Reads one frame: ``(header dict, payload bytes)``, or None at a clean end of stream."""
    first = stream.read(4)
    if not first:
        return None
    if len(first) < 4:
        first += _read_exact(stream, 4 - len(first))
    (length,) = struct.unpack("<I", first)
    if length > _MAX_HEADER_BYTES:
        raise ValueError(f"header length {length} exceeds {_MAX_HEADER_BYTES} bytes")
    header = json.loads(_read_exact(stream, length).decode("utf-8"))
    payload = _read_exact(stream, header.get("payload_bytes", 0))
    return header, payload


def write_frame(stream, header, payload_parts=()):
    """Writes ``header`` (a dict with ``type``) and the concatenated ``payload_parts`` (bytes)."""
    payload_bytes = sum(len(p) for p in payload_parts)
    if payload_bytes:
        header = dict(header, payload_bytes=payload_bytes)
    encoded = json.dumps(header).encode("utf-8")
    stream.write(struct.pack("<I", len(encoded)))
    stream.write(encoded)
    for part in payload_parts:
        stream.write(part)
    stream.flush()


def _protocol_streams():
    """The protocol's stdin and a private stdout; fd 1 and sys.stdout then point at stderr."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return sys.stdin.buffer, out


def _localize(localizer, images, payload):
    batch, offset = [], 0
    for image in images:
        h, w = image["height"], image["width"]
        n = h * w * 3
        pixels = np.frombuffer(payload, dtype=np.uint8, count=n, offset=offset).reshape(h, w, 3)
        batch.append((image["id"], pixels))
        offset += n
    results = localizer.localize(batch)
    if len(results) != len(batch):
        raise ValueError(f"localize returned {len(results)} results for {len(batch)} images")
    maps, parts = [], []
    for (image_id, pixels), (prediction, score) in zip(batch, results):
        prediction = np.ascontiguousarray(prediction, dtype="<f4")
        if prediction.shape != pixels.shape[:2]:
            raise ValueError(
                f"map for image {image_id!r} has shape {prediction.shape}, "
                f"expected {pixels.shape[:2]} (height, width)"
            )
        maps.append({"width": int(prediction.shape[1]), "height": int(prediction.shape[0]),
                     "score": None if score is None else float(score)})
        parts.append(prediction.tobytes())
    return maps, parts


def serve(create, stdin=None, stdout=None):
    """Serves the localizer ``create(params)`` builds until shutdown or end of input."""
    if stdin is None or stdout is None:
        stdin, stdout = _protocol_streams()
    frame = read_frame(stdin)
    if frame is None:
        return
    hello, _ = frame
    if hello.get("type") != "hello":
        raise ValueError(f"expected hello first, got {hello.get('type')!r}")
    if hello.get("protocol") != PROTOCOL_VERSION:
        write_frame(stdout, {"type": "error", "message":
                             f"protocol version {hello.get('protocol')} is not supported; "
                             f"this client speaks {PROTOCOL_VERSION}"})
        return
    try:
        localizer = create(hello.get("params", {}))
    except ParamError as e:
        write_frame(stdout, {"type": "error", "message": str(e), "param": e.param})
        return
    except Exception as e:  # noqa: BLE001 - any failure to build is reported, not crashed on
        write_frame(stdout, {"type": "error", "message": f"{type(e).__name__}: {e}"})
        return
    size = localizer.input_size
    write_frame(stdout, {"type": "ready", "protocol": PROTOCOL_VERSION, "name": localizer.name,
                         "input_size": None if size is None else [int(size[0]), int(size[1])],
                         "max_batch": int(localizer.max_batch)})
    while True:
        frame = read_frame(stdin)
        if frame is None or frame[0].get("type") == "shutdown":
            return
        header, payload = frame
        if header.get("type") != "localize":
            raise ValueError(f"expected localize or shutdown, got {header.get('type')!r}")
        try:
            maps, parts = _localize(localizer, header["images"], payload)
        except Exception as e:  # noqa: BLE001 - a failed batch is reported; the session goes on
            traceback.print_exc()
            write_frame(stdout, {"type": "error", "message": f"{type(e).__name__}: {e}"})
            continue
        write_frame(stdout, {"type": "result", "maps": maps}, parts)
