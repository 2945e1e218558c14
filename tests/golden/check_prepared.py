"""Independent check of a folder made by `ptm data prepare` with a per-document tail split:
re-encodes every source document with Hugging Face `tokenizers` (loading the folder's
tokenizer.json), applies the documented split rule, and compares with the shards read by
numpy. Prints "ok <train> <val>" or the first difference, exit 1.

    python tests/golden/check_prepared.py <prepared dir>
"""
import json
import sys

import numpy as np
from tokenizers import Tokenizer


def read_split(folder, manifest, split):
    parts = []
    for shard in manifest[split]["shards"]:
        raw = np.fromfile(f"{folder}/{shard['file']}", dtype=np.uint8)
        header = raw[:1024].view("<i4")
        dtype = {20240520: "<u2", 20240801: "<u4"}[int(header[0])]
        tokens = raw[1024:].view(dtype).astype(np.int64)
        assert len(tokens) == header[2], "header count differs from file size"
        parts.append(tokens)
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def main(folder):
    manifest = json.load(open(f"{folder}/manifest.json"))
    assert manifest["split"]["by"] == "tail of each document", "this check covers the tail split"
    tok = Tokenizer.from_file(f"{folder}/tokenizer.json")
    eos = manifest["tokenizer"]["eos_id"]
    frac = manifest["split"]["val_fraction"]
    train, val = [], []
    for src in manifest["sources"]:
        text = open(src["path"], encoding="utf-8", newline="").read()
        if not text:
            continue
        ids = tok.encode(text, add_special_tokens=False).ids + ([eos] if eos is not None else [])
        n_val = int(frac * len(ids))
        train += ids[: len(ids) - n_val]
        val += ids[len(ids) - n_val:]
    for name, expected in (("train", train), ("val", val)):
        got = read_split(folder, manifest, name)
        expected = np.asarray(expected, dtype=np.int64)
        if len(got) != len(expected) or not np.array_equal(got, expected):
            n = min(len(got), len(expected))
            first = int(np.argmax(got[:n] != expected[:n])) if n and (got[:n] != expected[:n]).any() else n
            print(f"{name}: {len(got)} tokens in shards, {len(expected)} expected; first difference at {first}")
            return 1
    print(f"ok {len(train)} {len(val)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
