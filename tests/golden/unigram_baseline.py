"""What word frequencies alone reach on a folder made by `ptm data prepare`: the golden
thresholds of the learning tests (a model that passes them used context, not just counts).
Reads the shards with numpy (no ptm code) and prints, on the validation split:
  - the entropy of the training split's unigram distribution,
  - the cross entropy of the add-one-smoothed training unigram model,
  - the rate of the most frequent training token (accuracy of always guessing it),
  - the cross entropy of an interpolated bigram model (0.7 bigram + 0.3 add-one unigram),
    the next-token loss a model reaches from the previous token alone.

    python tests/golden/unigram_baseline.py data/prepared/janeausten_minilm
"""
import json
import sys

import numpy as np

from check_prepared import read_split


def main(folder):
    manifest = json.load(open(f"{folder}/manifest.json"))
    train, val = read_split(folder, manifest, "train"), read_split(folder, manifest, "val")
    vocab = int(max(train.max(), val.max()) + 1)
    counts = np.bincount(train, minlength=vocab).astype(np.float64)
    p = counts / counts.sum()
    smoothed = (counts + 1) / (counts + 1).sum()
    top = int(counts.argmax())
    # Bigram counts as sorted pair keys (a vocab^2 table would not fit).
    pairs, pair_n = np.unique(train[:-1] * vocab + train[1:], return_counts=True)
    keys = val[:-1] * vocab + val[1:]
    at = np.minimum(np.searchsorted(pairs, keys), len(pairs) - 1)
    pair_counts = np.where(pairs[at] == keys, pair_n[at], 0).astype(np.float64)
    context = np.bincount(train[:-1], minlength=vocab).astype(np.float64)[val[:-1]]
    bigram = np.divide(pair_counts, context, out=np.zeros_like(pair_counts), where=context > 0)
    mixed = 0.7 * bigram + 0.3 * smoothed[val[1:]]
    print(f"train tokens {len(train)}, validation tokens {len(val)}")
    print(f"unigram entropy (train) {-(p[p > 0] * np.log(p[p > 0])).sum():.3f}")
    print(f"add-one unigram cross entropy (val) {-np.log(smoothed[val]).mean():.3f}")
    print(f"most frequent token {top}: rate (val) {(val == top).mean():.4f}")
    print(f"interpolated bigram cross entropy (val) {-np.log(mixed).mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
