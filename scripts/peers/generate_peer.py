"""transformers' side of scripts/bench_generate.sh: the benchmark model, and greedy generate()
timed on the same prompts as `ptm generate`.

    python generate_peer.py make ARCH DIR TOKENIZER_JSON
        A seeded random model (ARCH gpt2: GPT2LMHeadModel, 6 layers, 384 wide, 6 heads;
        llama: LlamaForCausalLM of the same size, 2 key/value heads, SwiGLU 1024) with the
        tokenizer's vocabulary, no end-of-text token, saved into DIR with tokenizer.json.
    python generate_peer.py run DIR PROMPTS_FILE MAX_NEW_TOKENS BATCH THREADS
        Encodes the prompts (one per line) as transformers does, and for each group of BATCH
        prompts (left-padded, attention mask) times generate(do_sample=False, exactly
        MAX_NEW_TOKENS new tokens, KV cache on) and, for the prefill, the same call with one new
        token. Prints one JSON line: prompt_tokens, new_tokens, seconds, prefill_seconds and ids
        (per prompt: prompt and generated), on THREADS CPU threads.
"""
import json
import shutil
import sys
import time

import torch
from transformers import (AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
                          PreTrainedTokenizerFast)
from transformers.utils import logging

logging.set_verbosity_error()
logging.disable_progress_bar()


def make(arch, out_dir, tokenizer_json):
    vocab = len(PreTrainedTokenizerFast(tokenizer_file=tokenizer_json))
    common = dict(vocab_size=vocab, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    torch.manual_seed(0)
    if arch == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(n_layer=6, n_embd=384, n_head=6, n_positions=512, **common))
    else:
        model = LlamaForCausalLM(LlamaConfig(hidden_size=384, intermediate_size=1024, num_hidden_layers=6,
                                             num_attention_heads=6, num_key_value_heads=2,
                                             max_position_embeddings=512, **common))
    model.save_pretrained(out_dir)
    shutil.copy(tokenizer_json, out_dir + "/tokenizer.json")


def run(model_dir, prompts_file, max_new, batch, threads):
    torch.set_num_threads(threads)
    tok = PreTrainedTokenizerFast(tokenizer_file=model_dir + "/tokenizer.json")
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    with open(prompts_file, encoding="utf-8") as f:
        encoded = [tok(line.rstrip("\n")).input_ids for line in f if line.strip("\n")]
    result = {"prompt_tokens": sum(len(e) for e in encoded), "new_tokens": 0, "seconds": 0.0,
              "prefill_seconds": 0.0, "ids": []}
    for first in range(0, len(encoded), batch):
        group = encoded[first:first + batch]
        width = max(len(e) for e in group)
        ids = torch.tensor([[0] * (width - len(e)) + e for e in group])
        mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in group])

        def generate(n):
            start = time.perf_counter()
            with torch.no_grad():
                out = model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=n, min_new_tokens=n,
                                     eos_token_id=None, pad_token_id=0)
            return out, time.perf_counter() - start

        result["prefill_seconds"] += generate(1)[1]
        out, seconds = generate(max_new)
        result["seconds"] += seconds
        result["new_tokens"] += len(group) * max_new
        result["ids"] += [e + row[width:] for e, row in zip(group, out.tolist())]
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
