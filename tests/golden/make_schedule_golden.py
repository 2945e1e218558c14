"""Golden learning-rate multipliers from Hugging Face transformers (the reference for
ptm's schedules). Run with the project venv:
    $PTM_VENV/bin/python tests/golden/make_schedule_golden.py > tests/fixtures/golden/schedules.json
"""
import json

import torch
from transformers import optimization as hf

TOTAL = 100


def multipliers(make):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make(opt)
    out = []
    for _ in range(TOTAL + 1):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


cases = [
    ({"type": "constant", "warmup_steps": 10},
     lambda o: hf.get_constant_schedule_with_warmup(o, 10)),
    ({"type": "linear", "warmup_steps": 10},
     lambda o: hf.get_linear_schedule_with_warmup(o, 10, TOTAL)),
    ({"type": "cosine", "warmup_steps": 10},
     lambda o: hf.get_cosine_schedule_with_warmup(o, 10, TOTAL)),
    ({"type": "cosine", "warmup_steps": 7, "final_lr_fraction": 0.1},
     lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup(o, 7, TOTAL, min_lr_rate=0.1)),
    ({"type": "wsd", "warmup_steps": 10, "decay_fraction": 0.2, "decay": "1-sqrt"},
     lambda o: hf.get_wsd_schedule(o, 10, 20, num_training_steps=TOTAL, decay_type="1-sqrt")),
    ({"type": "wsd", "warmup_steps": 5, "decay_fraction": 0.3, "decay": "cosine", "final_lr_fraction": 0.05},
     lambda o: hf.get_wsd_schedule(o, 5, 30, num_training_steps=TOTAL, decay_type="cosine", min_lr_ratio=0.05)),
    ({"type": "wsd", "warmup_steps": 10, "decay_fraction": 0.1, "decay": "linear"},
     lambda o: hf.get_wsd_schedule(o, 10, 10, num_training_steps=TOTAL, decay_type="linear")),
]

print(json.dumps({"total_steps": TOTAL,
                  "cases": [{"schedule": c, "multipliers": multipliers(m)} for c, m in cases]}, indent=1))
