"""Reference outputs from Hugging Face `transformers` for ptm's ViT tests (tests/unit/models/vit_test.cpp).

    python tests/golden/vit_reference.py random OUT_DIR
        Randomly initialised (then perturbed, so biases and LayerNorms are not trivial) models
        with non-default sizes, saved with save_pretrained:
          OUT_DIR/classification/  ViTForImageClassification: image 28, patch 7, 1 channel,
              hidden 64, 3 layers, 4 heads, intermediate 96, 10 labels, layer_norm_eps 1e-6
          OUT_DIR/none/  ViTModel (with pooler): image 32, patch 8, 3 channels, hidden 48,
              2 layers, 3 heads, intermediate 80, gelu_new, qkv_bias false
        and OUT_DIR/<kind>/reference.safetensors: images; logits (classification) or
        pooler_output (none); last_hidden_state; hidden_states.1; attentions.last (eager
        attention); num_parameters.
    python tests/golden/vit_reference.py run INPUTS DIR
        Loads DIR with the transformers class its config.json names (from_pretrained; any
        missing, unexpected or mis-shaped tensor is an error, exit 3) and writes
        DIR/hf_outputs.safetensors: logits, last_hidden_state, num_parameters for `images`.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()

KINDS = {
    "classification": (transformers.ViTForImageClassification,
                       dict(image_size=28, patch_size=7, num_channels=1, hidden_size=64, num_hidden_layers=3,
                            num_attention_heads=4, intermediate_size=96, num_labels=10, layer_norm_eps=1e-6),
                       (3, 1, 28, 28)),
    "none": (transformers.ViTModel,
             dict(image_size=32, patch_size=8, num_channels=3, hidden_size=48, num_hidden_layers=2,
                  num_attention_heads=3, intermediate_size=80, hidden_act="gelu_new", qkv_bias=False),
             (2, 3, 32, 32)),
}


def random_models(out_dir):
    for i, (kind, (cls, config, shape)) in enumerate(KINDS.items()):
        torch.manual_seed(100 + i)
        model = cls(transformers.ViTConfig(**config))
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        model.eval()
        d = os.path.join(out_dir, kind)
        model.save_pretrained(d)
        images = torch.randn(shape, generator=torch.Generator().manual_seed(7 + i))
        with torch.no_grad():
            out = model(pixel_values=images, output_hidden_states=True)
            model.set_attn_implementation("eager")  # attention probabilities need the explicit softmax
            att = model(pixel_values=images, output_attentions=True).attentions
        main = out.logits if kind == "classification" else out.pooler_output
        last = out.hidden_states[-1] if kind == "classification" else out.last_hidden_state
        if kind == "classification":
            last = model.vit.layernorm(last)  # hidden_states[-1] is before the final LayerNorm
        save_file({
            "images": images,
            "logits" if kind == "classification" else "pooler_output": main.contiguous(),
            "last_hidden_state": last.contiguous(),
            "hidden_states.1": out.hidden_states[1].contiguous(),
            "attentions.last": att[-1].contiguous(),
            "num_parameters": torch.tensor([model.num_parameters()], dtype=torch.int64),
        }, os.path.join(d, "reference.safetensors"))


def run(inputs, d):
    with open(os.path.join(d, "config.json")) as f:
        arch = json.load(f)["architectures"][0]
    cls = getattr(transformers, arch)
    model, info = cls.from_pretrained(d, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        print(f"{d}: {problems}", file=sys.stderr)
        sys.exit(3)
    model.eval()
    with torch.no_grad():
        out = model(pixel_values=load_file(inputs)["images"], output_hidden_states=True)
    result = {"num_parameters": torch.tensor([model.num_parameters()], dtype=torch.int64)}
    if arch == "ViTForImageClassification":
        result["logits"] = out.logits.contiguous()
        result["last_hidden_state"] = model.vit.layernorm(out.hidden_states[-1]).contiguous()
    else:
        result["logits"] = out.pooler_output.contiguous()
        result["last_hidden_state"] = out.last_hidden_state.contiguous()
    save_file(result, os.path.join(d, "hf_outputs.safetensors"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "random":
        random_models(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
