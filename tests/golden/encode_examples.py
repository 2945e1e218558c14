"""Reference model inputs from Hugging Face `tokenizers` for the first N rows of a TSV:
[CLS] text [SEP] with truncation to max_length and padding to max_length, as ids, type ids and
attention masks (one JSON object per line).

    python tests/golden/encode_examples.py <tokenizer.json> <file.tsv> <column> <max_length> <n> <out.jsonl>
"""
import csv
import json
import sys

from tokenizers import Tokenizer

tok_path, tsv, column, max_length, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
tok = Tokenizer.from_file(tok_path)
tok.enable_truncation(max_length=max_length)
tok.enable_padding(length=max_length, pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
with open(tsv, encoding="utf-8", newline="") as f, open(out, "w") as o:
    rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
    for i, row in enumerate(rows):
        if i == n:
            break
        e = tok.encode(row[column])
        o.write(json.dumps({"ids": e.ids, "type_ids": e.type_ids, "attention_mask": e.attention_mask}) + "\n")
