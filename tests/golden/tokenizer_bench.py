"""Single-thread encode throughput of Hugging Face `tokenizers` (the reference side of
scripts/bench_tokenizer.sh): a loop of Tokenizer.encode over the lines of the files.

    TOKENIZERS_PARALLELISM=false python tests/golden/tokenizer_bench.py TOKENIZER_JSON FILE... [--repeat N] [--batch]

--batch times one encode_batch call over all lines instead (still one thread with
TOKENIZERS_PARALLELISM=false): the Rust core without the per-call Python overhead.
"""
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402


def main():
    args = sys.argv[1:]
    repeat = 1
    batch = "--batch" in args
    if batch:
        args.remove("--batch")
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i:i + 2]
    tok = Tokenizer.from_file(args[0])
    tok.no_truncation()
    tok.no_padding()
    lines = []
    for path in args[1:]:
        with open(path, "rb") as f:
            lines.extend(line.decode("utf-8") for line in f.read().split(b"\n"))
    nbytes = sum(len(line.encode("utf-8")) for line in lines)
    kind = tok.to_str().split('"model"')[1].split('"type":')[1].split('"')[1].lower()
    for _ in range(repeat):
        tokens = 0
        t0 = time.perf_counter()
        if batch:
            tokens = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))
        else:
            for line in lines:
                tokens += len(tok.encode(line, add_special_tokens=False).ids)
        s = time.perf_counter() - t0
        print(f"hf {kind} {nbytes / 1e6:.2f} MB {len(lines)} lines {tokens} tokens {s:.3f} s {nbytes / 1e6 / s:.2f} MB/s")


if __name__ == "__main__":
    main()
