"""transformers' batched greedy generate() on a random small causal LM with a given
tokenizer.json, for ptm generate's batching test (tests/integration/generate_test.cpp).

    python tests/golden/batch_generate_reference.py ARCH TOKENIZER_JSON DIR PROMPTS_FILE MAX_NEW_TOKENS OUT_JSON

ARCH: gpt2 (GPT2LMHeadModel), llama (LlamaForCausalLM, grouped-query attention) or mistral
(MistralForCausalLM, a sliding window of 6). The model is seeded, its parameters perturbed.
The prompts (one per line) are encoded as transformers encodes them (the template's specials),
left-padded with pad id 0 and an attention mask (the padding transformers uses for decoder-only
generation; generate() derives position ids from the mask), and continued greedily in one
batch. The end-of-text token is the 4th new token of the first prompt's continuation without a
stop; it goes into config.json as eos_token_id. Then the batch is generated again stopping at
it per sequence. Saves the model and tokenizer.json into DIR and writes to OUT_JSON
{"eos": id, "ids": [per prompt: prompt ids and generated ids up to and including eos],
"prompt_lengths": [per prompt: its number of ids as transformers encodes it]}.
"""
import json
import shutil
import sys

import torch
from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, PreTrainedTokenizerFast)
from transformers.utils import logging

logging.set_verbosity_error()
torch.set_num_threads(1)


def build(arch, vocab):
    common = dict(vocab_size=vocab, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    if arch == "gpt2":
        return GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=4, n_embd=64, n_inner=120, n_positions=128, **common))
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(
            hidden_size=48, intermediate_size=72, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
            max_position_embeddings=128, rope_theta=500.0, tie_word_embeddings=False, **common))
    return MistralForCausalLM(MistralConfig(
        hidden_size=40, intermediate_size=88, num_hidden_layers=2, num_attention_heads=5, num_key_value_heads=5,
        head_dim=12, max_position_embeddings=128, sliding_window=6, **common))


def main():
    arch, tokenizer_json, out_dir, prompts_file, max_new, out = sys.argv[1:7]
    max_new = int(max_new)
    tok = PreTrainedTokenizerFast(tokenizer_file=tokenizer_json)
    torch.manual_seed(0)
    model = build(arch, len(tok)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    with open(prompts_file, encoding="utf-8") as f:
        prompts = [line.rstrip("\n") for line in f if line.strip("\n")]
    encoded = [tok(p).input_ids for p in prompts]
    width = max(len(e) for e in encoded)
    input_ids = torch.tensor([[0] * (width - len(e)) + e for e in encoded])
    attention_mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])

    def run(eos):
        with torch.no_grad():
            return model.generate(input_ids, attention_mask=attention_mask, do_sample=False, max_new_tokens=max_new,
                                  eos_token_id=eos, pad_token_id=0)

    eos = run(None)[0, width + 3].item()
    model.config.eos_token_id = eos
    model.generation_config.eos_token_id = eos
    model.save_pretrained(out_dir)
    shutil.copy(tokenizer_json, out_dir + "/tokenizer.json")
    rows = []
    for e, row in zip(encoded, run(eos).tolist()):
        new = row[width:]
        if eos in new:
            new = new[:new.index(eos) + 1]
        rows.append(e + new)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"eos": eos, "ids": rows, "prompt_lengths": [len(e) for e in encoded]}, f)


if __name__ == "__main__":
    main()
