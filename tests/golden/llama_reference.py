"""Llama / Mistral references from Hugging Face transformers for tests/unit/models/llama_test.cpp.

    python llama_reference.py reference <case> <dir> <out.safetensors>
        Creates a randomly initialised LlamaForCausalLM / MistralForCausalLM of the small, odd
        configuration <case> (seeded; every parameter perturbed so RMSNorm weights are not 1),
        saves it with save_pretrained into <dir> (sharded for case "gqa3"), and writes to <out>
        fixed input_ids and the logits; the metadata holds num_parameters().
    python llama_reference.py check <dir> <in.safetensors> <out.safetensors>
        Loads <dir> (written by ptm) with AutoModelForCausalLM.from_pretrained, fails (exit 3) on
        any missing, unexpected or mis-shaped tensor, and writes the logits for in's input_ids to
        <out>; the metadata holds the model's class name.
    python llama_reference.py generate <dir> <in.safetensors> <out.safetensors> <max_new_tokens>
        Greedy generate() (do_sample=False, no end-of-text stop) of the model in <dir> (any
        causal LM: GPT-2 too) from the "prompt" ids [1, T] in <in>; writes all ids to <out>.
"""
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM
from transformers.utils import logging

logging.set_verbosity_error()
torch.set_num_threads(1)

CASES = {
    # GQA ratio 3, 6 heads (not a power of two), vocabulary not a multiple of 64, untied head.
    "gqa3": lambda: LlamaForCausalLM(LlamaConfig(
        vocab_size=1001, hidden_size=60, intermediate_size=100, num_hidden_layers=2,
        num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=128,
        rms_norm_eps=1e-5, rope_theta=500.0, tie_word_embeddings=False,
        bos_token_id=None, eos_token_id=None, pad_token_id=None)),
    # Llama 3 rope scaling, 3 heads with one key/value head, tied head, biases.
    "llama3": lambda: LlamaForCausalLM(LlamaConfig(
        vocab_size=777, hidden_size=48, intermediate_size=72, num_hidden_layers=2,
        num_attention_heads=3, num_key_value_heads=1, max_position_embeddings=256,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
        rope_theta=5000.0, tie_word_embeddings=True, attention_bias=True, mlp_bias=True,
        bos_token_id=None, eos_token_id=None, pad_token_id=None)),
    # Mistral: a sliding window shorter than the input, head_dim != hidden_size / heads.
    "mistral": lambda: MistralForCausalLM(MistralConfig(
        vocab_size=523, hidden_size=40, intermediate_size=88, num_hidden_layers=2,
        num_attention_heads=5, num_key_value_heads=5, head_dim=12, max_position_embeddings=128,
        sliding_window=8, bos_token_id=None, eos_token_id=None, pad_token_id=None)),
}


def reference(case, out_dir, out_file):
    torch.manual_seed(1234)
    model = CASES[case]()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.config._attn_implementation = "eager"
    model.eval()
    model.save_pretrained(out_dir, max_shard_size="40KB" if case == "gqa3" else "50GB")
    g = torch.Generator().manual_seed(7)
    input_ids = torch.randint(0, model.config.vocab_size, (2, 40), generator=g)
    with torch.no_grad():
        logits = model(input_ids).logits
    save_file({"input_ids": input_ids, "logits": logits.contiguous()}, out_file,
              metadata={"num_parameters": str(model.num_parameters())})


def check(model_dir, in_file, out_file):
    model, info = AutoModelForCausalLM.from_pretrained(model_dir, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        print(f"loading {model_dir}: {problems}", file=sys.stderr)
        sys.exit(3)
    model.config._attn_implementation = "eager"
    model.eval()
    input_ids = load_file(in_file)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids).logits
    save_file({"logits": logits.contiguous()}, out_file, metadata={"class": type(model).__name__})


def generate(model_dir, in_file, out_file, max_new_tokens):
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    model.eval()
    prompt = load_file(in_file)["prompt"]
    with torch.no_grad():
        ids = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                             max_new_tokens=int(max_new_tokens),
                             eos_token_id=None, pad_token_id=0)
    save_file({"ids": ids.contiguous()}, out_file)


if __name__ == "__main__":
    if sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4])
