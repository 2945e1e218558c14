"""Builds small tokenizer.json files of the Llama 3 and SentencePiece (Llama 2 / Mistral) kinds
with Hugging Face `tokenizers` itself, trained on real text, for ptm's parity tests.

    python tests/golden/llama_tokenizer_build.py KIND OUT_JSON TEXT_FILE...

KIND:
  llama3            BPE(ignore_merges, 64 whole-piece tokens no merge makes) behind Sequence[Split(Llama 3 regex, isolated),
                    ByteLevel(use_regex=False)], ByteLevel decoder, 256 special tokens after the
                    vocabulary and TemplateProcessing "<|begin_of_text|> $A".
  o200k             the same model kind behind GPT-4o's o200k pattern (\\p{Lu} \\p{Ll} \\p{Lt}
                    \\p{Lm} \\p{Lo} \\p{M}, as in Tekken and Phi-4 files).
  deepseek3         the same behind DeepSeek V3's Sequence of three Splits (digits, CJK ranges,
                    then words with \\p{M} \\p{P} \\p{S}).
  llama2            Llama 2 / Mistral 7B v0.1 as converted from SentencePiece: normalizer
                    Sequence[Prepend("▁"), Replace(" ", "▁")], no pre-tokenizer, BPE with
                    byte_fallback (<0x00>..<0xFF> at ids 3..258) and fuse_unk, decoder
                    Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)], "<s> $A".
  llama2_normalized the same with its added tokens marked normalized (matched after the
                    normalizer, as "▁<s>") and two more: "Emma" and "Knightley".
  metaspace_first   the same model behind Metaspace(prepend_scheme="first", split=False) and no
                    normalizer (transformers' legacy=False conversion).
  metaspace_split   Metaspace(prepend_scheme="always", split=True) with the Metaspace decoder,
                    100 two-word tokens, and the byte tokens of 0xE0..0xFF missing, so characters of 3 and 4 bytes that
                    the vocabulary lacks become <unk> (fused).
The vocabulary is trained on TEXT_FILEs (one training text per line). Nothing is downloaded.
"""
import json
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")

O200K_PATTERN = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
                 r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"
                 r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")
DEEPSEEK3_PATTERNS = [r"\p{N}{1,3}", r"[一-龥\u3040-ゟ゠-ヿ]+",
                      r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|"
                      r" ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]


def read_lines(files):
    lines = []
    for name in files:
        with open(name, "rb") as f:
            lines += [b.decode("utf-8", "replace") + "\n" for b in f.read().split(b"\n")]
    return lines


def llama3(lines, patterns):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), behavior="isolated", invert=False) for p in patterns] +
        [pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    # As in Llama 3's vocabulary (converted from tiktoken), some tokens are whole pieces that no
    # merge makes: with ignore_merges a piece found in the vocabulary is taken whole.
    trained = json.loads(tok.to_str())["model"]
    vocab, counts = dict(trained["vocab"]), {}
    for line in lines[::7]:
        for piece, _ in tok.pre_tokenizer.pre_tokenize_str(line):
            counts[piece] = counts.get(piece, 0) + 1
    for piece, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) == 3000 + 64:
            break
        if len(piece) > 1 and piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tok.model = models.BPE(vocab=vocab, merges=merges, ignore_merges=True)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    specials += ["<|reserved_special_token_%d|>" % i for i in range(256 - len(specials))]
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in specials])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    j = json.loads(tok.to_str())
    assert j["model"]["ignore_merges"] is True
    return j


def sentencepiece_like(lines, kind):
    # Train on words as SentencePiece sees them ("▁word"), then lay the vocabulary out as the
    # converted files do: <unk> <s> </s>, the 256 byte tokens, then the pieces.
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=2500, min_frequency=2, show_progress=False, limit_alphabet=120,
                                  special_tokens=["<unk>", "<s>", "</s>"])
    trainer_tok.train_from_iterator(lines, trainer)
    trained = json.loads(trainer_tok.to_str())["model"]
    skip = set(range(0xE0, 0x100)) if kind == "metaspace_split" else set()
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256) if b not in skip]
    for t, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if t not in tokens:
            tokens.append(t)
    if kind == "metaspace_split":
        # Tokens of two words (no merge makes them; decoding meets them): the Metaspace decoder
        # drops every "▁" of the first token, not only the leading one.
        words = [t for t in tokens if t.startswith("▁") and len(t) > 2][:200]
        tokens += [a + b for a, b in zip(words[::2], words[1::2]) if a + b not in tokens]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    sp_decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                    decoders.Strip(content=" ", left=1, right=0)])
    if kind.startswith("llama2"):
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = sp_decoder
    elif kind == "metaspace_first":
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
        tok.decoder = sp_decoder
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    normalized = kind == "llama2_normalized"
    tok.add_special_tokens([AddedToken(s, normalized=normalized, special=True) for s in ["<unk>", "<s>", "</s>"]])
    if normalized:
        tok.add_tokens([AddedToken("Emma", normalized=True), AddedToken("Knightley", normalized=True)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s>:1 $B:1",
                                                       special_tokens=[("<s>", 1)])
    return json.loads(tok.to_str())


def main():
    kind, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    lines = read_lines(files)
    patterns = {"llama3": [LLAMA3_PATTERN], "o200k": [O200K_PATTERN], "deepseek3": DEEPSEEK3_PATTERNS}
    j = llama3(lines, patterns[kind]) if kind in patterns else sentencepiece_like(lines, kind)
    Tokenizer.from_str(json.dumps(j))  # loads back
    with open(out, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
