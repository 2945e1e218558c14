"""Reference word-piece labels for a CoNLL-style file from a Hugging Face fast tokenizer:
words and tags read as ptm documents (space/tab columns, the tag last, blank lines between
sentences, -DOCSTART- skipped), tags sorted, then the alignment of transformers'
examples/pytorch/token-classification/run_ner.py: tokenizer(words, is_split_into_words=True,
truncation=True, max_length=M), word_ids(), the tag on a word's first piece, -100 on specials
and (unless label_all_tokens) on the other pieces, B-X as I-X there when label_all_tokens.
One JSON object per sentence: input_ids, token_type_ids, labels.

    python tests/golden/token_classification_reference.py <tokenizer folder> <file> <max_length> <label_all 0|1> <out.jsonl>
"""
import json
import re
import sys

from transformers import AutoTokenizer

folder, path, max_length, label_all, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]

sentences, words, tags = [], [], []
with open(path, encoding="utf-8", newline="\n") as f:
    for line in f.read().split("\n"):
        line = line.rstrip("\r")
        cols = [c for c in re.split(r"[ \t]+", line) if c]
        if not cols or cols[0] == "-DOCSTART-":
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        words.append(cols[0])
        tags.append(cols[-1])
if words:
    sentences.append((words, tags))

label_list = sorted({t for _, ts in sentences for t in ts})
label_to_id = {l: i for i, l in enumerate(label_list)}
b_to_i_label = []
for idx, label in enumerate(label_list):
    if label.startswith("B-") and label.replace("B-", "I-") in label_list:
        b_to_i_label.append(label_list.index(label.replace("B-", "I-")))
    else:
        b_to_i_label.append(idx)

tok = AutoTokenizer.from_pretrained(folder, use_fast=True)
assert tok.is_fast
with open(out, "w") as o:
    for ws, ts in sentences:
        enc = tok(ws, is_split_into_words=True, truncation=True, max_length=max_length)
        labels, previous = [], None
        for word_idx in enc.word_ids():
            if word_idx is None:
                labels.append(-100)
            elif word_idx != previous:
                labels.append(label_to_id[ts[word_idx]])
            else:
                labels.append(b_to_i_label[label_to_id[ts[word_idx]]] if label_all else -100)
            previous = word_idx
        o.write(json.dumps({"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"], "labels": labels}) + "\n")
