"""Which ops of an Ultralytics ONNX export are the detection head's decoding, kept in float by INT8.

In an Ultralytics export the head is the highest ``/model.N/``. Its conv branches (``cv2``/``cv3``,
and an end-to-end head's ``one2one_cv2``/``one2one_cv3``) are quantized like the rest of the
network; everything else under it (DFL, anchors and strides, box arithmetic, class sigmoid, the
NMS-free head's top-k) is decoding and stays float.
"""

from __future__ import annotations

import re

_HEAD_CONV_BRANCH = re.compile(r"^(one2one_)?cv\d")
_MODULE_INDEX = re.compile(r"^/model\.(\d+)/")


def head_decode_names(names: list[str]) -> list[str]:
    """The names among ``names`` (ONNX nodes or OpenVINO ops) that belong to the head's decoding."""
    indices = [int(m.group(1)) for n in names if (m := _MODULE_INDEX.match(n))]
    if not indices:
        return []
    head = f"/model.{max(indices)}/"
    return [n for n in names if n.startswith(head) and not _HEAD_CONV_BRANCH.match(n[len(head) :])]
