"""Reference token ids from Hugging Face `tokenizers` for ptm's tokenizer parity tests.

    python tests/golden/tokenize_reference.py TOKENIZER_JSON LINES_FILE OUT_FILE [options]

LINES_FILE holds one text per line ('\\n' only separates lines; each line must be UTF-8).
OUT_FILE gets one line per input line:
  default            the ids of tokenizer.encode(line, add_special_tokens=False), space-separated
  --special          encode(line) with the post-processor's special tokens
  --pairs            each line is "A<TAB>B": encode(A, B) with special tokens; prints
                     "ids|type_ids|attention_mask"
  --max-length N     with truncation (longest_first) to N tokens
  --pad-length N     with padding to N tokens
  --pieces           the GPT-2 pre-tokenizer's pieces (pre_tokenizers.ByteLevel(use_regex=True),
                     mapped back to raw text), as a JSON list of strings per line
  --decode           LINES_FILE holds space-separated ids; prints json.dumps(decode(ids))
                     (skip_special_tokens=True; --keep-special for False)
  --json-lines       each line of LINES_FILE is a JSON string (texts with '\n')
  --transformers-files  TOKENIZER is GPT-2's vocab.json (merges.txt beside it) or BERT's
                     vocab.txt: the ids of transformers' GPT2Tokenizer / BertTokenizer
                     made from those files (transformers' own conversion), with --special as above
  --pre-pieces       the tokenizer's own normalizer and pre-tokenizer: the pieces as a JSON list
                     per line (mapped back from byte symbols when the last pre-tokenizer is ByteLevel)
  --bert-words MODE  BertNormalizer (MODE uncased: lowercase and strip accents; cased: neither)
                     then BertPreTokenizer; the words as a JSON list per line (TOKENIZER is "-")
The tokenizer.json's own truncation and padding are switched off unless asked for.
"""
import argparse
import json
import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

from tokenizers import Tokenizer, normalizers, pre_tokenizers  # noqa: E402


def byte_decoder():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("lines")
    ap.add_argument("out")
    ap.add_argument("--special", action="store_true")
    ap.add_argument("--transformers-files", action="store_true")
    ap.add_argument("--pairs", action="store_true")
    ap.add_argument("--max-length", type=int, default=0)
    ap.add_argument("--pad-length", type=int, default=0)
    ap.add_argument("--pieces", action="store_true")
    ap.add_argument("--decode", action="store_true")
    ap.add_argument("--keep-special", action="store_true")
    ap.add_argument("--bert-words", choices=["uncased", "cased"])
    ap.add_argument("--json-lines", action="store_true")
    ap.add_argument("--pre-pieces", action="store_true")
    a = ap.parse_args()

    with open(a.lines, "rb") as f:
        raw = f.read()
    lines = [b.decode("utf-8") for b in raw.split(b"\n")]
    if lines and lines[-1] == "" and raw.endswith(b"\n"):
        lines.pop()
    if a.json_lines:
        lines = [json.loads(line) for line in lines]

    out = []
    if a.bert_words:
        # strip_accents=None follows lowercase, as in BERT's tokenizer.json files.
        norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                          lowercase=a.bert_words == "uncased")
        split = pre_tokenizers.BertPreTokenizer()
        for line in lines:
            words = [w for w, _ in split.pre_tokenize_str(norm.normalize_str(line))]
            out.append(json.dumps(words, ensure_ascii=False))
    elif a.pre_pieces:
        tok = Tokenizer.from_file(a.tokenizer)
        steps = json.loads(tok.to_str())["pre_tokenizer"]
        steps = steps.get("pretokenizers", [steps]) if steps else []
        byte_level = bool(steps) and steps[-1]["type"] == "ByteLevel"
        to_bytes = str.maketrans({c: chr(b) for c, b in byte_decoder().items()})
        for line in lines:
            text = tok.normalizer.normalize_str(line) if tok.normalizer else line
            pieces = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(text)] if tok.pre_tokenizer else [text]
            if byte_level:
                pieces = [p.translate(to_bytes).encode("latin-1").decode("utf-8") for p in pieces]
            out.append(json.dumps(pieces, ensure_ascii=False))
    elif a.pieces:
        pt = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        to_bytes = str.maketrans({c: chr(b) for c, b in byte_decoder().items()})  # then latin-1 gives the bytes
        for line in lines:
            pieces = [p.translate(to_bytes).encode("latin-1").decode("utf-8") for p, _ in pt.pre_tokenize_str(line)]
            out.append(json.dumps(pieces, ensure_ascii=False))
    elif a.transformers_files:
        from transformers import BertTokenizer, GPT2Tokenizer  # transformers 5: file paths as vocab/merges
        if os.path.basename(a.tokenizer) == "vocab.txt":
            tok = BertTokenizer(vocab=a.tokenizer)
        else:
            tok = GPT2Tokenizer(vocab=a.tokenizer, merges=os.path.join(os.path.dirname(a.tokenizer), "merges.txt"))
        for ids in tok(lines, add_special_tokens=a.special)["input_ids"]:
            out.append(" ".join(map(str, ids)))
    else:
        tok = Tokenizer.from_file(a.tokenizer) if a.tokenizer != "-" else None
        if a.decode:
            for line in lines:
                ids = [int(x) for x in line.split()]
                out.append(json.dumps(tok.decode(ids, skip_special_tokens=not a.keep_special)))
        else:
            tok.no_truncation()
            tok.no_padding()
            if a.max_length:
                tok.enable_truncation(max_length=a.max_length, strategy="longest_first")
            if a.pad_length:
                tok.enable_padding(length=a.pad_length, pad_id=tok.padding["pad_id"] if tok.padding else 0)
            if a.pairs:
                for line in lines:
                    first, second = line.split("\t", 1)
                    e = tok.encode(first, second)
                    out.append("|".join(" ".join(map(str, v)) for v in (e.ids, e.type_ids, e.attention_mask)))
            else:
                encs = tok.encode_batch(lines, add_special_tokens=a.special)
                out.extend(" ".join(map(str, e.ids)) for e in encs)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
