"""Sampling filters from Hugging Face transformers for tests/unit/models/generate_test.cpp.

    python sampling_reference.py <out.safetensors>
        Writes seeded random logits [R, V] and, for each case i of CASES (temperature, top_k,
        top_p), "warped_i": the logits after TemperatureLogitsWarper, TopKLogitsWarper and
        TopPLogitsWarper in generate()'s order (-inf for removed tokens).
"""
import sys

import torch
from safetensors.torch import save_file
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

CASES = [(1.0, 0, 0.9), (0.7, 10, 1.0), (1.3, 20, 0.5), (0.5, 0, 0.3), (1.0, 3, 0.99), (2.0, 0, 0.999)]

torch.manual_seed(11)
logits = torch.randn(6, 97) * 3
out = {"logits": logits}
for i, (t, k, p) in enumerate(CASES):
    scores = TemperatureLogitsWarper(t)(None, logits.clone())
    if k > 0:
        scores = TopKLogitsWarper(k)(None, scores)
    if p < 1.0:
        scores = TopPLogitsWarper(p)(None, scores)
    out[f"warped_{i}"] = scores.contiguous()
save_file(out, sys.argv[1], metadata={"cases": repr(CASES)})
