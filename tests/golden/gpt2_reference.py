"""GPT-2 references from Hugging Face transformers for tests/unit/models/gpt_test.cpp.

    python gpt2_reference.py reference <dir> <out.safetensors>
        Creates a randomly initialised GPT2LMHeadModel with non-default sizes (seeded; every
        parameter perturbed so LayerNorms and biases are not 1/0), saves it with
        save_pretrained(safe_serialization=True) into <dir>, and writes to <out> the fixed
        input_ids, logits, hidden states and attention probabilities; the metadata holds
        num_parameters().
    python gpt2_reference.py check <dir> <in.safetensors> <out.safetensors>
        Loads <dir> (written by ptm) with from_pretrained, fails (exit 3) on any missing,
        unexpected or mis-shaped tensor, and writes the logits for in's input_ids to <out>.
    python gpt2_reference.py counts
        num_parameters() of GPT2LMHeadModel for gpt2, gpt2-medium, gpt2-large and gpt2-xl
        (the numbers gpt_test.cpp expects from the configs/models/gpt2_*.yaml presets).
"""
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.utils import logging

logging.set_verbosity_error()
torch.set_num_threads(1)


def reference(out_dir, out_file):
    torch.manual_seed(1234)
    config = GPT2Config(
        n_layer=3, n_head=4, n_embd=64, n_inner=200, vocab_size=1000, n_positions=128,
        layer_norm_epsilon=1e-6, bos_token_id=None, eos_token_id=None,
    )
    config._attn_implementation = "eager"  # attention probabilities are returned
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    g = torch.Generator().manual_seed(7)
    input_ids = torch.randint(0, config.vocab_size, (2, 40), generator=g)
    with torch.no_grad():
        out = model(input_ids, output_hidden_states=True, output_attentions=True)
    tensors = {"input_ids": input_ids, "logits": out.logits.contiguous()}
    for i, h in enumerate(out.hidden_states):
        tensors[f"hidden_{i}"] = h.contiguous()
    for i, a in enumerate(out.attentions):
        tensors[f"attention_{i}"] = a.contiguous()
    save_file(tensors, out_file, metadata={"num_parameters": str(model.num_parameters())})


def check(model_dir, in_file, out_file):
    model, info = GPT2LMHeadModel.from_pretrained(model_dir, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        print(f"loading {model_dir}: {problems}", file=sys.stderr)
        sys.exit(3)
    model.eval()
    input_ids = load_file(in_file)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids).logits
    save_file({"logits": logits.contiguous()}, out_file)


def counts():
    for name, (n_layer, n_head, n_embd) in {
        "gpt2": (12, 12, 768), "gpt2-medium": (24, 16, 1024),
        "gpt2-large": (36, 20, 1280), "gpt2-xl": (48, 25, 1600),
    }.items():
        with torch.device("meta"):
            model = GPT2LMHeadModel(GPT2Config(n_layer=n_layer, n_head=n_head, n_embd=n_embd))
        print(name, model.num_parameters())


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "reference":
        reference(sys.argv[2], sys.argv[3])
    elif mode == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        counts()
