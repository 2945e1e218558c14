"""safetensors interop with the reference library (PyPI `safetensors`).

    python safetensors_interop.py write <file>   # writes tensors with known values
    python safetensors_interop.py check <file>   # loads a file ptm wrote, checks the same values
"""
import sys

import torch
from safetensors.torch import load_file, save_file


def expected():
    return {
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7,
        "bf16": (torch.arange(6, dtype=torch.float32) - 2.5).to(torch.bfloat16),
        "f16": torch.tensor([[0.5, -1.25], [65504.0, 1e-3]], dtype=torch.float16),
        "i64": torch.tensor([0, -1, 2**40], dtype=torch.int64),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 5),
    }


if sys.argv[1] == "write":
    save_file(expected(), sys.argv[2], metadata={"format": "pt", "source": "python"})
else:
    got = load_file(sys.argv[2])
    want = expected()
    assert set(got) == set(want), f"names differ: {sorted(got)} vs {sorted(want)}"
    for k, v in want.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape and torch.equal(got[k], v), k
    print("ok")
