"""Corpus-scale benchmark of `ptm data prepare` (driven by scripts/bench_prepare.sh).

    python bench_corpus.py gen --out DIR --mb 100 [--seed 1] [--noise 0.2] [--dup-fraction 0.05] ...
    python bench_corpus.py prepare --ptm PTM --corpus DIR --out DIR --threads 2 [--dedup] --json F
    python bench_corpus.py hf --tokenizer tokenizer.json --corpus DIR --threads 2 --json F
    python bench_corpus.py survivors --prepared DIR --corpus DIR --json F
    python bench_corpus.py report RESULT.json...

gen: JSONL files (`{"text": ...}`, one document a line) of about --mb MB of text, made from the
real corpora (data/corpus/linux-doc and the Jane Austen novels cut into ~8 KB documents; files
of under 300 words joined with the next ones). Every
document is a source document with --noise of its words replaced by words drawn from the
corpora (so no two documents are near duplicates: two noisy copies of one source share about
0.8^10 of their 5-word shingles), and starts with its own id word `docid00000123`. Planted:
near duplicates (an earlier document with --dup-edit of its words replaced, which
deduplication should drop) and hard negatives (--hard-edit replaced, which it should keep).
truth.tsv lists them with their true 5-word-shingle Jaccard similarity to the original.
Deterministic under --seed for a given numpy version (corpus.json records the sha256s).
Needs numpy, and `tokenizers` for hf / survivors.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ID_RE = re.compile(rb"docid(\d{8})")
SPLIT_RE = re.compile(r"(\s+)")


def source_documents(corpus, min_words=300):
    """The real documents, in a fixed order: linux-doc files, then Austen's novels in ~8 KB
    runs of paragraphs (a whole novel would be one document 100x longer than the rest).
    Files of fewer than `min_words` words are joined with the next ones: noisy copies of a
    10-word file would be near duplicates of each other, which no label would account for."""
    docs = []
    for p in sorted((corpus / "linux-doc").rglob("*.txt")):
        docs.append(p.read_text("utf-8", errors="replace"))
    for p in sorted((corpus / "janeausten").glob("*.txt")):
        cur = []
        size = 0
        for para in re.split(r"\n\s*\n", p.read_text("utf-8", errors="replace")):
            cur.append(para)
            size += len(para)
            if size >= 8000:
                docs.append("\n\n".join(cur))
                cur, size = [], 0
        if cur:
            docs.append("\n\n".join(cur))
    out, cur = [], []
    for d in docs:
        cur.append(d)
        if sum(len(x.split()) for x in cur) >= min_words:
            out.append("\n\n".join(cur))
            cur = []
    if cur:
        out.append("\n\n".join(cur))
    return out


class Perturber:
    """Replaces a share of a text's words (whitespace kept) by words drawn, by frequency,
    from the corpora."""

    def __init__(self, docs, rng, pool_size=200_000):
        words = []
        for d in docs:
            words.extend(d.split())
        self.pool = np.array(words, dtype=object)[rng.integers(len(words), size=pool_size)]
        self.rng = rng

    def __call__(self, text, rate):
        parts = SPLIT_RE.split(text)  # words at even indices (maybe "" at the ends)
        words = parts[0::2]
        hit = np.flatnonzero(self.rng.random(len(words)) < rate)
        repl = self.pool[self.rng.integers(len(self.pool), size=len(hit))]
        for i, w in zip(hit.tolist(), repl.tolist()):
            if words[i]:
                words[i] = w
        parts[0::2] = words
        return "".join(parts)


def shingles(text, k=5):
    w = text.split()
    if len(w) < k:
        return {hash(tuple(w))}
    return {hash(tuple(w[i:i + k])) for i in range(len(w) - k + 1)}


def jaccard(a, b):
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / max(len(sa | sb), 1)


def gen(args):
    out = Path(args.out)
    params = {"generator": 2}  # bump when the output of gen changes
    params |= {k: getattr(args, k) for k in ("mb", "seed", "noise", "dup_fraction", "dup_edit", "hard_fraction",
                                             "hard_edit", "file_mb")}
    marker = out / "corpus.json"
    if marker.exists():
        old = json.loads(marker.read_text())
        if old.get("params") == params:
            print(f"corpus {out}: already made ({old['text_bytes'] / 1e6:.1f} MB, {old['documents']} documents)",
                  file=sys.stderr)
            return
    out.mkdir(parents=True, exist_ok=True)
    for f in out.glob("*"):
        f.unlink()
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    docs = source_documents(Path(args.corpus))
    perturb = Perturber(docs, rng)
    target = int(args.mb * 1e6)
    reservoir, seen = [], 0  # a uniform sample of earlier documents, to copy from
    files, truth = [], []
    total = ndocs = 0
    fh, fbytes = None, 0
    order = []

    def emit(text):
        nonlocal fh, fbytes, total, ndocs
        if fh is None or fbytes >= args.file_mb * 1e6:
            if fh:
                fh.close()
            files.append(out / f"part_{len(files):05d}.jsonl")
            fh = open(files[-1], "w", encoding="utf-8")
            fbytes = 0
        line = json.dumps({"text": text}, ensure_ascii=False) + "\n"
        fh.write(line)
        n = len(text.encode("utf-8"))
        fbytes += n
        total += n
        ndocs += 1

    while total < target:
        docid = f"docid{ndocs:08d}"
        u = rng.random()
        if reservoir and u < args.dup_fraction + args.hard_fraction:
            kind, edit = ("dup", args.dup_edit) if u < args.dup_fraction else ("hard", args.hard_edit)
            orig_id, orig = reservoir[int(rng.integers(len(reservoir)))]
            body = perturb(orig.split("\n", 1)[1], edit)
            text = docid + "\n" + body
            truth.append((docid, kind, orig_id, jaccard(orig, text)))
        else:
            if not order:
                order = rng.permutation(len(docs)).tolist()
            text = docid + "\n" + perturb(docs[order.pop()], args.noise)
            seen += 1
            if len(reservoir) < 1000:
                reservoir.append((docid, text))
            else:
                j = int(rng.integers(seen))
                if j < 1000:
                    reservoir[j] = (docid, text)
        emit(text)
    fh.close()
    with open(out / "truth.tsv", "w") as f:
        f.write("docid\tkind\toriginal\tjaccard5\n")
        for docid, kind, orig, jac in truth:
            f.write(f"{docid}\t{kind}\t{orig}\t{jac:.4f}\n")
    meta = {
        "params": params,
        "documents": ndocs,
        "text_bytes": total,
        "files": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files},
        "planted": {k: sum(1 for t in truth if t[1] == k) for k in ("dup", "hard")},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    marker.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"corpus {out}: {total / 1e6:.1f} MB, {ndocs} documents in {len(files)} files, planted "
          f"{meta['planted']['dup']} near duplicates and {meta['planted']['hard']} hard negatives "
          f"({meta['seconds']} s)", file=sys.stderr)


def recipe_text(args):
    lines = [
        "# written by scripts/data/bench_corpus.py (scripts/bench_prepare.sh)",
        "prepare:",
        f"  sources: [{args.corpus}]",
        "  format: jsonl",
        "  extensions: [.jsonl]",
        "  tokenizer: {type: bpe, vocab_size: %d, special_tokens: [\"<|endoftext|>\"]}" % args.vocab,
        f"  tokenizer_train_bytes: {args.train_bytes}",
        f"  threads: {args.threads}",
        f"  memory_mb: {args.memory_mb}",
        "  val_fraction: 0.01",
        f"  out: {args.out}",
    ]
    if args.dedup:
        lines.append(f"  dedup: {{exact: true, near: true, shingle: {args.shingle}, threshold: {args.threshold}, "
                     f"bands: {args.bands}, rows: {args.rows}, seed: 1}}")
    return "\n".join(lines) + "\n"


def prepare(args):
    """One `ptm data prepare` under /usr/bin/time -v: wall time, peak RSS, and the phases
    from the times at which its log lines arrive."""
    recipe = Path(args.out + ".yaml")
    recipe.write_text(recipe_text(args))
    timefile = args.out + ".time"
    cmd = ["/usr/bin/time", "-v", "-o", timefile, args.ptm, "data", "prepare", "--config", str(recipe), "--overwrite"]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = []
    for line in p.stderr:
        log.append((time.perf_counter() - t0, line.rstrip("\n")))
    stdout = p.stdout.read()
    rc = p.wait()
    wall = time.perf_counter() - t0
    with open(args.out + ".log", "w") as f:
        f.writelines(f"{t:9.3f} {line}\n" for t, line in log)
        f.write(stdout)
    if rc != 0:
        sys.exit(f"ptm data prepare failed (rc {rc}); see {args.out}.log")
    tv = Path(timefile).read_text()
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", tv).group(1).split(":")
    elapsed = sum(float(x) * 60 ** i for i, x in enumerate(reversed(m)))
    cpu_pct = int(re.search(r"Percent of CPU this job got: (\d+)%", tv).group(1))

    def at(pattern):
        for t, line in log:
            if re.search(pattern, line):
                return t
        return None

    t_train = at(r"prepare: training the")
    t_files = at(r"prepare: \d+ files,")
    enc = re.search(r"prepare: encoded ([\d.]+) MB with (\d+) threads in ([\d.]+) s", "\n".join(l for _, l in log))
    manifest = json.loads((Path(args.out) / "manifest.json").read_text())
    res = {
        "corpus": args.corpus,
        "out": args.out,
        "dedup": args.dedup,
        "threads": args.threads,
        "memory_mb": args.memory_mb,
        "wall_s": round(wall, 3),
        "time_elapsed_s": elapsed,
        "peak_rss_mb": round(rss_kb * 1024 / 1e6, 1),
        "cpu_per_wall": cpu_pct / 100,
        "scan_s": round(t_train, 2) if t_train is not None else None,  # pass 1 (read, hash, dedup, sample)
        "train_s": round(t_files - t_train, 2) if t_files and t_train else None,
        "encode_mb": float(enc.group(1)) if enc else None,  # pass 2: read again, encode, write shards
        "encode_s": float(enc.group(3)) if enc else None,
        "documents": manifest["documents"],
        "documents_read": manifest["documents_read"],
        "dropped": manifest["documents_dropped"],
        "tokens": manifest["train"]["tokens"] + manifest["val"]["tokens"],
        "stdout": stdout.strip().splitlines(),
    }
    if args.dedup:
        res["dedup_settings"] = manifest.get("dedup")
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    print(f"prepare {args.out}: {wall:.1f} s, peak RSS {res['peak_rss_mb']} MB", file=sys.stderr)


def corpus_texts(corpus):
    for f in sorted(Path(corpus).glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)["text"]


def hf(args):
    """HF `tokenizers` encode_batch over the same documents (the first --mb MB of them when
    given), in batches of ~8 MB: only the encode_batch calls are timed, not reading the JSONL."""
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    import tokenizers
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(args.tokenizer)
    tok.no_truncation()
    tok.no_padding()
    fast = hasattr(tok, "encode_batch_fast")
    nbytes = ndocs = tokens = 0
    secs = secs_fast = cpu = 0.0

    def run(batch):
        nonlocal tokens, secs, secs_fast, cpu
        t, c = time.perf_counter(), time.process_time()
        enc = tok.encode_batch(batch, add_special_tokens=False)
        secs += time.perf_counter() - t
        cpu += time.process_time() - c
        tokens += sum(len(e.ids) for e in enc)
        del enc
        if fast:
            t = time.perf_counter()
            enc = tok.encode_batch_fast(batch, add_special_tokens=False)
            secs_fast += time.perf_counter() - t
            del enc

    batch, size = [], 0
    for text in corpus_texts(args.corpus):
        batch.append(text)
        n = len(text.encode("utf-8"))
        size += n
        nbytes += n
        ndocs += 1
        if size >= 8_000_000:
            run(batch)
            batch, size = [], 0
            if args.mb and nbytes >= args.mb * 1e6:
                break
    if batch:
        run(batch)
    res = {"tokenizers": tokenizers.__version__, "threads": args.threads, "bytes": nbytes, "documents": ndocs,
           "tokens": tokens, "encode_batch_s": round(secs, 3), "encode_batch_mb_s": round(nbytes / 1e6 / secs, 2),
           "encode_batch_cpu_per_wall": round(cpu / secs, 2)}  # ~threads when the cores are free
    if fast:
        res.update(encode_batch_fast_s=round(secs_fast, 3), encode_batch_fast_mb_s=round(nbytes / 1e6 / secs_fast, 2))
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    print(f"tokenizers {tokenizers.__version__}: {nbytes / 1e6:.1f} MB, {tokens} tokens, encode_batch {secs:.1f} s "
          f"({res['encode_batch_mb_s']} MB/s, {args.threads} threads, CPU/wall {res['encode_batch_cpu_per_wall']})", file=sys.stderr)


def survivors(args):
    """Which documents a prepared folder kept (the docid word at the start of each document,
    decoded from the shards), scored against the planted duplicates in truth.tsv."""
    from tokenizers import Tokenizer

    prepared = Path(args.prepared)
    man = json.loads((prepared / "manifest.json").read_text())
    tok = Tokenizer.from_file(str(prepared / "tokenizer.json"))
    eos = man["tokenizer"]["eos_id"]
    dtype = np.uint16 if man["token_bytes"] == 2 else np.uint32
    kept = set()
    for split in ("train", "val"):
        for sh in man[split]["shards"]:
            ids = np.fromfile(prepared / sh["file"], dtype=dtype, offset=1024)
            starts = np.concatenate([[0], np.flatnonzero(ids == eos) + 1])[:-1]
            heads = [ids[s:s + 16].tolist() for s in starts]
            for text in tok.decode_batch(heads, skip_special_tokens=False):
                m = ID_RE.search(text.encode("utf-8"))
                if m:
                    kept.add(int(m.group(1)))
    if len(kept) != man["documents"]:
        sys.exit(f"{prepared}: found {len(kept)} document ids in the shards, the manifest says {man['documents']}")
    meta = json.loads((Path(args.corpus) / "corpus.json").read_text())
    kind, jac_of, jac = {}, {}, {"dup": [], "hard": []}
    with open(Path(args.corpus) / "truth.tsv") as f:
        next(f)
        for line in f:
            docid, k, _, j = line.rstrip("\n").split("\t")
            kind[int(docid[5:])] = k
            jac_of[int(docid[5:])] = float(j)
            jac[k].append(float(j))
    dropped = set(range(meta["documents"])) - kept
    planted = {d for d, k in kind.items() if k == "dup"}
    hard = {d for d, k in kind.items() if k == "hard"}
    tp = len(dropped & planted)
    # Planted copies of short documents can be far from their originals (the new id word and
    # a few replaced words change most of their few shingles): recall also over the copies
    # whose true similarity reaches the threshold.
    thr = man.get("dedup", {}).get("threshold", 0.0)
    close = {d for d in planted if jac_of[d] >= thr}
    res = {
        "documents": meta["documents"],
        "kept": len(kept),
        "dropped": len(dropped),
        "planted_near_duplicates": len(planted),
        "hard_negatives": len(hard),
        "hard_negatives_dropped": len(dropped & hard),
        "true_positives": tp,
        "precision": round(tp / len(dropped), 4) if dropped else None,
        "recall": round(tp / len(planted), 4) if planted else None,
        "planted_at_threshold": len(close),
        "recall_at_threshold": round(len(dropped & close) / len(close), 4) if close else None,
        "jaccard5_near_duplicates": [round(min(jac["dup"]), 3), round(float(np.mean(jac["dup"])), 3)] if jac["dup"] else None,
        "jaccard5_hard_negatives": [round(float(np.mean(jac["hard"])), 3), round(max(jac["hard"]), 3)] if jac["hard"] else None,
    }
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    print(f"survivors {prepared}: {len(kept)} kept of {meta['documents']}, precision {res['precision']}, "
          f"recall {res['recall']}", file=sys.stderr)


def collect(args):
    """One size's results in one file, for report."""
    load = lambda f: json.loads(Path(f).read_text()) if f else None  # noqa: E731
    res = {"corpus_meta": load(Path(args.corpus) / "corpus.json"), "prepare": load(args.prepare), "hf": load(args.hf),
           "baseline_rss_mb": load(args.baseline)["peak_rss_mb"] if args.baseline else None}
    if args.dedup_prepare:
        res["dedup"] = {"prepare": load(args.dedup_prepare), "survivors": load(args.survivors)}
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


def report(args):
    rows = [json.loads(Path(p).read_text()) for p in args.results]
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    base = rows[0].get("baseline_rss_mb")

    def above(p):  # peak RSS over the process's own
        return f" (+{p['peak_rss_mb'] - base:.0f})" if base else ""

    print(f"`ptm data prepare` at corpus scale, {os.cpu_count()} cores ({cpu}); generated JSONL corpora "
          f"(scripts/data/bench_corpus.py gen). Process baseline peak RSS (a 0.1 MB corpus): {base} MB.")
    print()
    print("| text | documents | files | threads / memory_mb | wall (pass 1 / train / pass 2) | end to end | "
          "pass 2 encode | HF encode_batch | ratio | peak RSS (+ over baseline) | tokens agree |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        c, p, h = r["corpus_meta"], r["prepare"], r.get("hf")
        mbytes = c["text_bytes"] / 1e6
        enc = p["encode_mb"] / p["encode_s"] if p.get("encode_s") else float("nan")
        hcell = ratio = agree = "-"
        if h:
            hcell = f"{h['encode_batch_mb_s']:.1f} MB/s"
            if "encode_batch_fast_mb_s" in h:
                hcell += f" ({h['encode_batch_fast_mb_s']:.1f} fast)"
            ratio = f"{enc / h['encode_batch_mb_s']:.2f}x"
            if h["documents"] < c["documents"]:
                hcell += f" on the first {h['bytes'] / 1e6:.0f} MB"
            elif h["tokens"] + p["documents"] == p["tokens"]:
                agree = "yes"
            else:
                agree = f"NO ({h['tokens'] + p['documents']} vs {p['tokens']})"
        print(f"| {mbytes:.0f} MB | {c['documents']:,} | {len(c['files'])} | {p['threads']} / {p['memory_mb']} | "
              f"{p['wall_s']:.1f} s ({p['scan_s']:.2f} / {p['train_s']:.2f} / {p['encode_s']:.2f} s) | "
              f"{mbytes / p['wall_s']:.1f} MB/s ({mbytes / (p['wall_s'] - (p['train_s'] or 0)):.1f} without train) | {enc:.1f} MB/s | {hcell} | {ratio} | {p['peak_rss_mb']:.0f} MB{above(p)} | {agree} |")
    print()
    print("CPU time / wall time (near the thread count when the cores were free): " + "; ".join(
        f"{r['corpus_meta']['text_bytes'] / 1e6:.0f} MB: prepare {r['prepare']['cpu_per_wall']}" +
        (f", tokenizers {r['hf']['encode_batch_cpu_per_wall']}" if r.get("hf") else "") for r in rows) + ".")
    peaks = [r["prepare"]["peak_rss_mb"] for r in rows]
    if len(peaks) > 1:
        print()
        print(f"Peak RSS spread: {100 * (max(peaks) - min(peaks)) / min(peaks):.1f}% (max vs min).")
    dd = [r for r in rows if r.get("dedup")]
    if dd:
        s = dd[0]["dedup"]["prepare"]["dedup_settings"]
        print()
        print(f"Near-duplicate removal: recipe `dedup: {{exact: true, near: true, shingle: {s['shingle']}, "
              f"threshold: {s['threshold']}, bands: {s['bands']}, rows: {s['rows']}}}`; planted near duplicates "
              "are earlier documents with a few % of words replaced, hard negatives with more replaced (they "
              "must be kept); Jaccard = true 5-word-shingle similarity to the original.")
        print()
        print("| text | documents | planted near dups (Jaccard min / mean) | hard negatives (mean / max) | dropped "
              "(exact + near) | precision | recall (of those with Jaccard >= threshold) | hard negatives dropped | wall with dedup (pass 1) | peak RSS (+ over baseline) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in dd:
            d, p = r["dedup"]["survivors"], r["dedup"]["prepare"]
            jd, jh = d["jaccard5_near_duplicates"] or ["-", "-"], d["jaccard5_hard_negatives"] or ["-", "-"]
            print(f"| {r['corpus_meta']['text_bytes'] / 1e6:.0f} MB | {d['documents']:,} | "
                  f"{d['planted_near_duplicates']:,} ({jd[0]} / {jd[1]}) | {d['hard_negatives']:,} ({jh[0]} / {jh[1]}) | "
                  f"{p['dropped']['exact_duplicate']} + {p['dropped']['near_duplicate']} | {d['precision']} | "
                  f"{d['recall']} ({d['recall_at_threshold']} of {d['planted_at_threshold']:,}) | {d['hard_negatives_dropped']} | {p['wall_s']:.1f} s ({p['scan_s']:.2f} s) | "
                  f"{p['peak_rss_mb']:.0f} MB{above(p)} |")
    print()
    print("Pass 1 = read + sha256 + deduplication + the tokenizer's sample; train = BPE training on the "
          "sample; pass 2 = read again + encode + write shards (ptm's own log figure); end to end = text MB / "
          "wall time of the whole command. HF = tokenizers encode_batch on the in-memory documents, same threads "
          "(RAYON_NUM_THREADS), encode only; ratio = ptm pass 2 / HF encode_batch. Tokens agree: HF's token count "
          "plus one EOS per document equals the manifest's.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--mb", type=float, required=True)
    g.add_argument("--corpus", default="data/corpus")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--noise", type=float, default=0.2)
    g.add_argument("--dup-fraction", type=float, default=0.05)
    g.add_argument("--dup-edit", type=float, default=0.03)
    g.add_argument("--hard-fraction", type=float, default=0.02)
    g.add_argument("--hard-edit", type=float, default=0.15)
    g.add_argument("--file-mb", type=float, default=32)
    p = sub.add_parser("prepare")
    for a in ("--ptm", "--corpus", "--out", "--json"):
        p.add_argument(a, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory-mb", type=int, default=256)
    p.add_argument("--vocab", type=int, default=16384)
    p.add_argument("--train-bytes", type=int, default=8_000_000)
    p.add_argument("--dedup", action="store_true")
    p.add_argument("--shingle", type=int, default=5)
    p.add_argument("--threshold", type=float, default=0.6)
    p.add_argument("--bands", type=int, default=32)
    p.add_argument("--rows", type=int, default=4)
    h = sub.add_parser("hf")
    for a in ("--tokenizer", "--corpus", "--json"):
        h.add_argument(a, required=True)
    h.add_argument("--threads", type=int, default=2)
    h.add_argument("--mb", type=float, default=0, help="only the first MB of text (0 = all)")
    s = sub.add_parser("survivors")
    for a in ("--prepared", "--corpus", "--json"):
        s.add_argument(a, required=True)
    c = sub.add_parser("collect")
    for a in ("--corpus", "--prepare", "--out"):
        c.add_argument(a, required=True)
    for a in ("--hf", "--dedup-prepare", "--survivors", "--baseline"):
        c.add_argument(a)
    r = sub.add_parser("report")
    r.add_argument("results", nargs="+")
    args = ap.parse_args()
    {"gen": gen, "prepare": prepare, "hf": hf, "survivors": survivors, "collect": collect,
     "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
