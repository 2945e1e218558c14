"""Reference fine-tuning of MiniLM on the fine-food reviews with transformers (PyTorch eager),
the same recipe as recipes/finetune/minilm_sentiment.yaml: same initial weights, same data
order (ptm's counter-based permutation, re-implemented below), same tokenization, optimizer,
weight-decay groups, schedule and clipping. Only dropout masks differ.

  python tests/reference/finetune_minilm.py init  --minilm data/models/minilm --out /tmp/init
  ptm finetune --config recipes/finetune/minilm_sentiment.yaml init_from.hf=/tmp/init
  python tests/reference/finetune_minilm.py train --init /tmp/init --results ref.json
"""
import argparse
import csv
import json
import sys

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

MASK = (1 << 64) - 1


def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def hash64(seed, stream, index):
    return splitmix(splitmix(splitmix(seed) ^ stream) ^ index)


def epoch_permutation(n, seed, epoch):
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = hash64(seed, 0x5EED0000 + epoch, i) % (i + 1)
        p[i], p[j] = p[j], p[i]
    return p


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def batches_in_ptm_order(n, batch, seed, steps):
    epoch, pos, order = 0, 0, epoch_permutation(n, seed, 0)
    for _ in range(steps):
        idx = []
        while len(idx) < batch:
            if pos >= n:
                epoch, pos = epoch + 1, 0
                order = epoch_permutation(n, seed, epoch)
            idx.append(order[pos])
            pos += 1
        yield idx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["init", "train"])
    ap.add_argument("--minilm", default="data/models/minilm")
    ap.add_argument("--out", help="init: folder for the initial weights")
    ap.add_argument("--init", help="train: the folder written by init")
    ap.add_argument("--train", default="data/reviews/train.tsv")
    ap.add_argument("--test", default="data/reviews/test.tsv")
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup-fraction", type=float, default=0.1)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--results", help="train: JSON file for the test metrics")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.mode == "init":
        model = BertForSequenceClassification.from_pretrained(a.minilm, num_labels=2)
        model.save_pretrained(a.out, safe_serialization=True)
        return

    tok = AutoTokenizer.from_pretrained(a.minilm)
    model = BertForSequenceClassification.from_pretrained(a.init)
    texts, labels = read_tsv(a.train)
    test_texts, test_labels = read_tsv(a.test)
    names = sorted(set(labels))
    y = torch.tensor([names.index(l) for l in labels])
    y_test = torch.tensor([names.index(l) for l in test_labels])

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.dim() < 2 or "embed" in name else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    warmup = round(a.warmup_fraction * a.steps)

    def factor(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (a.steps - step) / max(1, a.steps - warmup))

    model.train()
    for step, idx in enumerate(batches_in_ptm_order(len(texts), a.batch, a.seed, a.steps)):
        enc = tok([texts[i] for i in idx], truncation=True, max_length=a.max_length, padding="longest",
                  return_tensors="pt")
        out = model(**enc, labels=y[idx])
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for g in opt.param_groups:
            g["lr"] = a.lr * factor(step)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (step + 1) % 10 == 0:
            print(f"step {step + 1} loss {out.loss.item():.4f}", file=sys.stderr)

    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(test_texts), a.batch):
            enc = tok(test_texts[s:s + a.batch], truncation=True, max_length=a.max_length, padding="longest",
                      return_tensors="pt")
            logits = model(**enc).logits
            gold = y_test[s:s + a.batch]
            loss_sum += torch.nn.functional.cross_entropy(logits, gold, reduction="sum").item()
            correct += (logits.argmax(-1) == gold).sum().item()
    res = {"accuracy": correct / len(test_texts), "loss": loss_sum / len(test_texts), "steps": a.steps}
    print(json.dumps(res))
    if a.results:
        with open(a.results, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()
