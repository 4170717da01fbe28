"""The exp2 table of the fixed-point online softmax (cosim.accel.online_softmax): its
copies in rtl/common/exp2_neg.sv and tlm/accel/exp2_lut.h equal the Python
specification they are generated from."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from cosim.accel.online_softmax import LUT, exp2_lut, lut_cpp, lut_sv

REPO = Path(__file__).resolve().parents[1]


def test_exp2_table_copies_match_the_specification():
    assert LUT[0] == 1 << 15 and np.all(np.diff(LUT) < 0) and LUT[-1] > 1 << 14
    assert np.array_equal(LUT, exp2_lut())
    assert lut_sv() in (REPO / "rtl" / "common" / "exp2_neg.sv").read_text()
    assert lut_cpp() in (REPO / "tlm" / "accel" / "exp2_lut.h").read_text()
    # the C++ copy holds 256 entries, no more
    body = (REPO / "tlm" / "accel" / "exp2_lut.h").read_text()
    assert len(re.findall(r"\d+", body.split("{", 2)[2])) >= 256
