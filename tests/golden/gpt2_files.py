"""Writes a byte-level BPE tokenizer.json's model as GPT-2's two files, vocab.json and
merges.txt, with `tokenizers`' own writer (BPE.save), for ptm's conversion test
(tests/unit/data/tokenizer_parity_test.cpp).

    python tests/golden/gpt2_files.py TOKENIZER_JSON OUT_DIR
"""
import json
import os
import sys

from tokenizers import Tokenizer


def main():
    source, out_dir = sys.argv[1:3]
    tok = Tokenizer.from_file(source)
    os.makedirs(out_dir, exist_ok=True)
    tok.model.save(out_dir)
    # The special tokens that tokenizers keeps outside the model go into vocab.json too, as in
    # GPT-2's own file (<|endoftext|> is its last entry).
    path = os.path.join(out_dir, "vocab.json")
    with open(path, encoding="utf-8") as f:
        vocab = json.load(f)
    for added in json.loads(tok.to_str())["added_tokens"]:
        vocab.setdefault(added["content"], added["id"])
    with open(path, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
