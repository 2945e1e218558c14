"""Reference outputs from `torchvision` for ptm's ResNet tests (tests/unit/models/resnet_test.cpp).

    python tests/golden/resnet_reference.py random NAME OUT_DIR
        A randomly initialised torchvision model whose parameters and BatchNorm running
        statistics are perturbed (so no BatchNorm is an identity); NAME is one of
          OUT_DIR/resnet18/  torchvision.models.resnet18(num_classes=7), input [3, 3, 64, 64]
          OUT_DIR/resnet50_small/  resnet50(num_classes=10) with the small-input stem
              (conv1 = 3x3 stride 1 from 1 channel, maxpool = Identity), input [2, 1, 16, 16]
        The folder OUT_DIR/NAME: model.safetensors (the torchvision state dict, buffers included),
        config.json (model_type torchvision_resnet: depth, num_classes, in_channels,
        small_input) and reference.safetensors: images, logits_eval (eval mode), num_parameters;
        for resnet18 also, in train mode (batch statistics), logits_train and bn1.running_mean /
        layer1.0.bn1.running_var after that one forward (resnet50 skips it: CPU time).
    python tests/golden/resnet_reference.py run INPUTS DIR
        Builds the torchvision model DIR/config.json describes, loads DIR/model.safetensors
        with load_state_dict (strict: any missing or unexpected tensor is an error), and writes
        DIR/tv_outputs.safetensors: logits (eval mode) for `images` in INPUTS, num_parameters.
"""
import json
import os
import sys

import torch
import torchvision
from safetensors.torch import load_file, save_file

torch.set_num_threads(2)


def build(config):
    ctor = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34, 50: torchvision.models.resnet50}
    model = ctor[config["depth"]](num_classes=config["num_classes"])
    if config.get("small_input", False):
        model.conv1 = torch.nn.Conv2d(config.get("in_channels", 3), 64, 3, 1, 1, bias=False)
        model.maxpool = torch.nn.Identity()
    elif config.get("in_channels", 3) != 3:
        model.conv1 = torch.nn.Conv2d(config["in_channels"], 64, 7, 2, 3, bias=False)
    return model


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(3)


def random_model(which, out_dir):
    cases = {
        "resnet18": (dict(depth=18, num_classes=7, in_channels=3, small_input=False), (3, 3, 64, 64)),
        "resnet50_small": (dict(depth=50, num_classes=10, in_channels=1, small_input=True), (2, 1, 16, 16)),
    }
    for i, (name, (config, shape)) in enumerate(cases.items()):
        if name != which:
            continue
        torch.manual_seed(10 + i)
        model = build(config)
        perturb(model, 20 + i)
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(d, "model.safetensors"))
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(dict(model_type="torchvision_resnet", **config), f)
        images = torch.randn(shape, generator=torch.Generator().manual_seed(30 + i))
        with torch.no_grad():
            model.eval()
            result = {
                "images": images,
                "logits_eval": model(images),
                "num_parameters": torch.tensor([sum(p.numel() for p in model.parameters())], dtype=torch.int64),
            }
            if config["depth"] == 18:
                model.train()
                result["logits_train"] = model(images)
                result["bn1.running_mean"] = model.bn1.running_mean.clone()
                result["layer1.0.bn1.running_var"] = model.layer1[0].bn1.running_var.clone()
        save_file(result, os.path.join(d, "reference.safetensors"))


def run(inputs, d):
    with open(os.path.join(d, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") != "torchvision_resnet":
        sys.exit(f"{d}/config.json: model_type is not torchvision_resnet")
    model = build(config)
    model.load_state_dict(load_file(os.path.join(d, "model.safetensors")), strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(load_file(inputs)["images"])
    save_file({"logits": logits.contiguous(),
               "num_parameters": torch.tensor([sum(p.numel() for p in model.parameters())], dtype=torch.int64)},
              os.path.join(d, "tv_outputs.safetensors"))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "random":
        random_model(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
