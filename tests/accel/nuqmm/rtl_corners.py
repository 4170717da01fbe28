"""nuQmm's RTL (rtl/nuqmm/): lint corners and the cocotb bench (tests/rtl_table.py). The
bench builds the parameters the twin tests use (TWIN), so one build serves both."""

from rtl_table import Bench, Lint

#: The build of the scenario, the twin tests and the bench (the declaration's defaults).
TWIN = {"MU": 8, "LANES": 16, "MAX_Q": 4, "MAX_ROWS": 1024, "MAX_GROUPS": 512, "MAX_BATCH": 4}

LINT = [
    Lint("nuqmm", {}),
    Lint(
        "nuqmm", {"MU": 2, "LANES": 4, "MAX_Q": 1, "MAX_ROWS": 4, "MAX_GROUPS": 2, "MAX_BATCH": 1}
    ),
    Lint("nuqmm", {"MU": 5, "LANES": 12, "MAX_ROWS": 36, "MAX_GROUPS": 3, "MAX_BATCH": 3}),
    Lint("nuqmm", {"LANES": 64, "MAX_Q": 8, "MAX_ROWS": 4096}),
]

BENCHES = [Bench("nuqmm", TWIN, "tb_nuqmm.py", min_tests=3)]
