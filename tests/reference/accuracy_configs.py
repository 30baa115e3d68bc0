"""The configurations of the README's accuracy table, in its order (row 0 is
FP16, rows 1.. these). Torch-free, so the CPU-only runner and the renderer
read the same list as tests/reference/accuracy_table.py."""

# name, method, bits, group size, act-order, symmetric
CONFIGS = [
    ("RTN w4 per-channel", "rtn", 4, -1, False, True),
    ("RTN w4 g128", "rtn", 4, 128, False, True),
    ("RTN w3 g128", "rtn", 3, 128, False, True),
    ("GPTQ w4 per-channel", "gptq", 4, -1, False, True),
    ("GPTQ w4 g128", "gptq", 4, 128, False, True),
    ("GPTQ w4 g128 act-order", "gptq", 4, 128, True, True),
    ("GPTQ w4 g128 asym", "gptq", 4, 128, False, False),
    ("GPTQ w3 g128", "gptq", 3, 128, False, True),
    ("GPTQ w3 g128 act-order", "gptq", 3, 128, True, True),
    ("GPTQ w2 g64", "gptq", 2, 64, False, True),
    ("GPTQ w8 per-channel", "gptq", 8, -1, False, True),
]


def table_rows(spec):
    """The row numbers a --rows argument names: "0-5", "6,7", "0-2,5"."""
    wanted = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        wanted.update(range(int(lo), int(hi or lo) + 1))
    return wanted
