"""Runs tests/reference/finetune_minilm.py unchanged (runpy), recording every training step's
loss and pre-clip gradient norm; writes them to $REF_TRACE (JSON). Computation is untouched.
  REF_TRACE=trace.json python tests/reference/record_trace.py tests/reference/finetune_minilm.py train --init DIR ...
Compare with ptm's metrics.jsonl of a run with train.log_every=1 (RESULTS.md, MiniLM parity)."""
import json, os, runpy, sys
import torch, transformers
trace = {"loss": [], "grad_norm": []}
orig_fwd = transformers.BertForSequenceClassification.forward
def fwd(self, *a, **k):
    out = orig_fwd(self, *a, **k)
    if self.training and out.loss is not None:
        trace["loss"].append(out.loss.item())
    return out
transformers.BertForSequenceClassification.forward = fwd
orig_clip = torch.nn.utils.clip_grad_norm_
def clip(*a, **k):
    n = orig_clip(*a, **k)
    trace["grad_norm"].append(float(n))
    return n
torch.nn.utils.clip_grad_norm_ = clip
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    with open(os.environ["REF_TRACE"], "w") as f:
        json.dump(trace, f)
