"""transformers' pipelines on a `ptm export --format hf` folder as it is, for the export test.

    python tests/golden/hf_export_pipeline.py classify DIR TEXTS_TSV MAX_LENGTH OUT_JSON
    python tests/golden/hf_export_pipeline.py generate DIR PROMPT MAX_NEW_TOKENS OUT_JSON
    python tests/golden/hf_export_pipeline.py images DIR IDX_IMAGES_FILE COUNT OUT_JSON

classify: pipeline("text-classification", model=DIR) on the `text` column of TEXTS_TSV
(truncated to MAX_LENGTH tokens, as the ptm run's data was), writing {"labels": [...],
"scores": [...], "ids": [the tokenizer's ids per text]}.
generate: pipeline("text-generation", model=DIR), greedy, MAX_NEW_TOKENS at most, writing
{"text": the continuation, "ids": prompt and generated ids from the pipeline's model.generate}.
images: pipeline("image-classification", model=DIR) on the first COUNT images of an MNIST-format
IDX file (grey [H, W, 1] uint8 arrays), writing {"labels": [top label], "scores": [its probability]}.
Nothing but DIR tells transformers what the model, tokenizer, labels and end-of-text token are.
"""
import csv
import json
import sys

import torch
from transformers import pipeline
from transformers.utils import logging

logging.set_verbosity_error()
torch.set_num_threads(1)


def classify(folder, texts_tsv, max_length, out):
    with open(texts_tsv, newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    pipe = pipeline("text-classification", model=folder, device="cpu")
    results = pipe(texts, truncation=True, max_length=max_length)
    ids = [pipe.tokenizer(t, truncation=True, max_length=max_length)["input_ids"] for t in texts]
    json.dump({"labels": [r["label"] for r in results], "scores": [r["score"] for r in results], "ids": ids},
              open(out, "w"))


def generate(folder, prompt, max_new, out):
    pipe = pipeline("text-generation", model=folder, device="cpu")
    text = pipe(prompt, do_sample=False, max_new_tokens=max_new, return_full_text=False)[0]["generated_text"]
    ids = pipe.tokenizer(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        full = pipe.model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=max_new)
    json.dump({"text": text, "ids": full[0].tolist()}, open(out, "w"))


def images(folder, idx_file, count, out):
    import struct

    import numpy as np
    with open(idx_file, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, "not an IDX image file"
        # Grey images as [H, W, 1] uint8 arrays: the pipeline turns PIL images into RGB first,
        # which a one-channel model cannot take.
        pictures = [np.frombuffer(f.read(rows * cols), dtype=np.uint8).reshape(rows, cols, 1) for _ in range(min(n, count))]
    pipe = pipeline("image-classification", model=folder, device="cpu")
    results = [r[0] for r in pipe(pictures, top_k=1)]
    json.dump({"labels": [r["label"] for r in results], "scores": [r["score"] for r in results]}, open(out, "w"))


def main():
    mode = sys.argv[1]
    if mode == "classify":
        classify(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif mode == "generate":
        generate(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif mode == "images":
        images(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
