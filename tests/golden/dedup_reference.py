"""Reference for `ptm data prepare` deduplication: builds a JSONL corpus with planted exact
duplicates, near duplicates (word 5-shingle Jaccard >= 0.9) and related-but-distinct documents
(Jaccard <= 0.6), then decides with exact Jaccard similarity (no MinHash) which documents a
greedy pass in corpus order drops: an exact copy of any earlier document (after collapsing
whitespace runs to one space and trimming the ends), or a document whose Jaccard with an
earlier kept one is >= the threshold. Standard library only, fixed seed: reproducible.

usage: dedup_reference.py OUT_DIR   -> OUT_DIR/corpus.jsonl, OUT_DIR/expected.json
"""
import json
import random
import sys

SHINGLE, THRESHOLD = 5, 0.8


def shingles(text: str):
    words = text.encode().split()  # ASCII whitespace, as ptm splits words
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def normalized(text: str):
    return b" ".join(text.encode().split())


def jaccard(a, b):
    return len(a & b) / len(a | b) if a | b else 1.0


def main(out):
    rng = random.Random(1234)
    vocab = ["w%d" % i for i in range(3000)]
    base = [" ".join(rng.choice(vocab) for _ in range(rng.randint(300, 500))) for _ in range(80)]

    def edit(text, n):  # replaces n words, spread out
        words = text.split(" ")
        for i in rng.sample(range(len(words)), n):
            words[i] = rng.choice(vocab)
        return " ".join(words)

    docs = list(base[:40])
    planted = []
    for i in range(40, 80):
        src = rng.randrange(40)  # a base document: 300+ words, so one edit keeps Jaccard > 0.95
        kind = i % 4
        if kind == 0:
            docs.append(docs[src])  # exact copy
        elif kind == 1:
            docs.append(edit(docs[src], 1))  # near: one word in 150-400
        elif kind == 2:
            words = docs[src].split(" ")
            docs.append(" ".join(words[: len(words) // 2] + base[i].split(" ")[: len(words) // 2]))  # half shared
        else:
            docs.append(base[i])  # unrelated
        planted.append((i, src, jaccard(shingles(docs[i]), shingles(docs[src]))))
    docs.append("short doc")  # fewer words than a shingle
    docs.append("short doc")
    docs.append("short  doc\n")  # same words, other whitespace: an exact duplicate
    docs.append("short doc again")  # fewer words than a shingle, another set: kept
    docs.append(" ".join(base[5].split(" ")[:200]) + "\n\n  " + " ".join(base[5].split(" ")[200:]))  # exact (whitespace)

    seen, kept, kept_sh, verdict = set(), [], [], []
    for t in docs:
        sh = shingles(t)
        norm = normalized(t)
        if norm in seen:
            verdict.append("exact")
        elif any(jaccard(sh, k) >= THRESHOLD for k in kept_sh):
            verdict.append("near")
        else:
            verdict.append("keep")
            kept.append(t)
            kept_sh.append(sh)
        seen.add(norm)
    # Every pair must be far from the threshold, so MinHash with 128 values agrees.
    for i, t in enumerate(docs):
        for k in range(i):
            j = jaccard(shingles(t), shingles(docs[k]))
            assert j >= 0.9 or j <= 0.65, (i, k, j)
    with open(out + "/corpus.jsonl", "w") as f:
        for t in docs:
            f.write(json.dumps({"text": t}) + "\n")
    with open(out + "/expected.json", "w") as f:
        json.dump({"kept": kept, "exact": verdict.count("exact"), "near": verdict.count("near"),
                   "planted": planted}, f)
    print("ok", len(docs), "documents,", verdict.count("exact"), "exact,", verdict.count("near"), "near")


if __name__ == "__main__":
    main(sys.argv[1])
