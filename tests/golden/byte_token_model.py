"""A GPT-2 whose greedy continuation is always the byte-level token of the lone byte 0xE2 (the
first byte of a 3-byte UTF-8 character), with a given byte-level tokenizer.json, for ptm
generate's test of continuations that end inside a character.

    python tests/golden/byte_token_model.py TOKENIZER_JSON DIR N OUT_JSON

ln_f outputs its bias whatever the input (weight 0), and the tied embedding row of the token is
that bias scaled up, so its logit is the largest. Writes {"id": the token, "text": transformers'
decode of N of them} to OUT_JSON.
"""
import json
import shutil
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
from transformers.utils import logging

logging.set_verbosity_error()
logging.disable_progress_bar()


def main():
    tokenizer_json, out_dir, n, out = sys.argv[1:5]
    tok = PreTrainedTokenizerFast(tokenizer_file=tokenizer_json)
    token = tok.convert_tokens_to_ids("\u00e2")  # byte 0xE2 in the byte-level alphabet
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=32, n_positions=64, vocab_size=len(tok),
                                       bos_token_id=None, eos_token_id=None))
    with torch.no_grad():
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(torch.randn(32))
        model.transformer.wte.weight[token] = model.transformer.ln_f.bias * 10
    model.save_pretrained(out_dir)
    shutil.copy(tokenizer_json, out_dir + "/tokenizer.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"id": token, "text": tok.decode([token] * int(n))}, f)


if __name__ == "__main__":
    main()
