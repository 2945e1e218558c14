"""A random small LlamaForCausalLM with a given tokenizer.json, and transformers' greedy
generate() from a text prompt, for ptm generate's text-prompt test.

    python tests/golden/llama_text_generate.py TOKENIZER_JSON DIR PROMPT MAX_NEW_TOKENS OUT_JSON

Saves the model (vocabulary the tokenizer's size, seeded) and tokenizer.json into DIR, then
encodes PROMPT as transformers does (PreTrainedTokenizerFast: the template's specials, e.g. BOS),
generates greedily without an end-of-text stop, and writes {"ids": prompt and generated ids,
"text": the generated part decoded with skip_special_tokens} to OUT_JSON.
"""
import json
import shutil
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from transformers.utils import logging

logging.set_verbosity_error()
torch.set_num_threads(1)


def main():
    tokenizer_json, out_dir, prompt, max_new, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    tok = PreTrainedTokenizerFast(tokenizer_file=tokenizer_json)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tok), hidden_size=48, intermediate_size=72, num_hidden_layers=2, num_attention_heads=3,
        num_key_value_heads=1, max_position_embeddings=256, bos_token_id=None, eos_token_id=None,
        pad_token_id=None)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    model.save_pretrained(out_dir)
    shutil.copy(tokenizer_json, out_dir + "/tokenizer.json")
    ids = tok(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        full = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new, min_new_tokens=max_new,
                              do_sample=False, pad_token_id=0)
    full = full[0].tolist()
    text = tok.decode(full[ids.shape[1]:], skip_special_tokens=True, clean_up_tokenization_spaces=False)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"ids": full, "text": text}, f)


if __name__ == "__main__":
    main()
