"""Reference outputs from Hugging Face `transformers` for ptm's BERT tests (tests/unit/models/bert_test.cpp).

    python tests/golden/bert_reference.py minilm MODEL_DIR TSV OUT [--rows 16] [--max-length 128]
        The first ROWS texts of TSV (header `text<TAB>label`) tokenized by `tokenizers` with
        MODEL_DIR/tokenizer.json (truncated to MAX_LENGTH, padded to the longest), run through
        transformers.BertModel.from_pretrained(MODEL_DIR) (default SDPA attention). OUT
        (safetensors): input_ids, attention_mask, token_type_ids [N, T]; last_hidden_state
        [N, T, H]; pooler_output [N, H]; hidden_states.0 (embeddings) and hidden_states.3;
        num_hidden_states, num_parameters; and from the eager implementation on the first 4
        rows: attentions.first, attentions.last [4, heads, T, T].
    python tests/golden/bert_reference.py random OUT_DIR
        Randomly initialised (then perturbed, so biases and LayerNorms are not trivial)
        BertForSequenceClassification (3 labels), BertForMaskedLM, BertForTokenClassification
        (5 labels, gelu_new) and regression (1 label) with non-default sizes, saved with
        save_pretrained into OUT_DIR/<kind>/, plus OUT_DIR/inputs.safetensors (padded pairs)
        and OUT_DIR/<kind>/reference.safetensors (logits, last_hidden_state, num_parameters).
    python tests/golden/bert_reference.py run INPUTS DIR [DIR ...]
        Loads each DIR with the transformers class its config.json names (from_pretrained);
        any missing, unexpected or mis-shaped tensor is an error (exit 3). Writes
        DIR/hf_outputs.safetensors: logits (task classes) or pooler_output (BertModel),
        last_hidden_state and num_parameters, for the batch in INPUTS.
"""
import argparse
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()


def read_texts(tsv, rows):
    with open(tsv, "rb") as f:
        lines = f.read().split(b"\n")
    texts = [line.decode("utf-8").rsplit("\t", 1)[0] for line in lines[1:] if line]
    return texts[:rows]


def minilm(a):
    tok = Tokenizer.from_file(os.path.join(a.model_dir, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    tok.enable_truncation(max_length=a.max_length)
    tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    encodings = tok.encode_batch(read_texts(a.tsv, a.rows))
    batch = {
        "input_ids": torch.tensor([e.ids for e in encodings], dtype=torch.int64),
        "attention_mask": torch.tensor([e.attention_mask for e in encodings], dtype=torch.int64),
        "token_type_ids": torch.tensor([e.type_ids for e in encodings], dtype=torch.int64),
    }
    model = transformers.BertModel.from_pretrained(a.model_dir).eval()
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
        model.set_attn_implementation("eager")  # attention probabilities need the explicit softmax
        att = model(**{k: v[:4] for k, v in batch.items()}, output_attentions=True).attentions
    result = dict(batch)
    result.update({
        "last_hidden_state": out.last_hidden_state,
        "pooler_output": out.pooler_output,
        "hidden_states.0": out.hidden_states[0],
        "hidden_states.3": out.hidden_states[3],
        "num_hidden_states": torch.tensor([len(out.hidden_states)], dtype=torch.int64),
        "num_parameters": torch.tensor([model.num_parameters()], dtype=torch.int64),
        "attentions.first": att[0],
        "attentions.last": att[-1],
    })
    save_file({k: v.contiguous() for k, v in result.items()}, a.out)


def random_inputs(vocab, pad, lengths, total):
    g = torch.Generator().manual_seed(7)
    n = len(lengths)
    ids = torch.randint(2, vocab, (n, total), generator=g)
    mask = torch.zeros(n, total, dtype=torch.int64)
    types = torch.zeros(n, total, dtype=torch.int64)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
        types[i, length // 2:length] = 1  # a sentence pair: the second half is segment B
        ids[i, length:] = pad
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def random_models(a):
    base = dict(vocab_size=1000, hidden_size=96, num_hidden_layers=3, num_attention_heads=6, intermediate_size=200,
                max_position_embeddings=64, type_vocab_size=3, layer_norm_eps=1e-6, pad_token_id=1,
                hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.15)
    kinds = {
        "classification": (transformers.BertForSequenceClassification, dict(num_labels=3, classifier_dropout=0.3)),
        "mlm": (transformers.BertForMaskedLM, {}),
        "token_classification": (transformers.BertForTokenClassification, dict(num_labels=5, hidden_act="gelu_new")),
        "regression": (transformers.BertForSequenceClassification, dict(num_labels=1, problem_type="regression")),
    }
    inputs = random_inputs(base["vocab_size"], base["pad_token_id"], [20, 13, 7, 16], 20)
    os.makedirs(a.out_dir, exist_ok=True)
    save_file(inputs, os.path.join(a.out_dir, "inputs.safetensors"))
    for i, (kind, (cls, extra)) in enumerate(kinds.items()):
        torch.manual_seed(100 + i)
        model = cls(transformers.BertConfig(**base, **extra))
        with torch.no_grad():
            for p in model.parameters():  # tied weights appear once
                p.add_(torch.randn_like(p) * 0.05)
        model.eval()
        out_dir = os.path.join(a.out_dir, kind)
        model.save_pretrained(out_dir)
        with torch.no_grad():
            out = model(**inputs, output_hidden_states=True)
        save_file({"logits": out.logits.contiguous(), "last_hidden_state": out.hidden_states[-1].contiguous(),
                   "num_parameters": torch.tensor([model.num_parameters()], dtype=torch.int64)},
                  os.path.join(out_dir, "reference.safetensors"))


def run(a):
    inputs = load_file(a.inputs)
    for d in a.dirs:
        with open(os.path.join(d, "config.json")) as f:
            arch = json.load(f)["architectures"][0]
        model, info = getattr(transformers, arch).from_pretrained(d, output_loading_info=True)
        problems = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
        if problems:
            print(f"{d}: {arch} did not load cleanly: {problems}", file=sys.stderr)
            sys.exit(3)
        model.eval()
        with torch.no_grad():
            out = model(**inputs, output_hidden_states=True)
        result = {"last_hidden_state": out.hidden_states[-1],
                  "num_parameters": torch.tensor([model.num_parameters()], dtype=torch.int64)}
        if arch == "BertModel":
            result["pooler_output"] = out.pooler_output
        else:
            result["logits"] = out.logits
        save_file({k: v.contiguous() for k, v in result.items()}, os.path.join(d, "hf_outputs.safetensors"))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("minilm")
    m.add_argument("model_dir")
    m.add_argument("tsv")
    m.add_argument("out")
    m.add_argument("--rows", type=int, default=16)
    m.add_argument("--max-length", type=int, default=128)
    r = sub.add_parser("random")
    r.add_argument("out_dir")
    u = sub.add_parser("run")
    u.add_argument("inputs")
    u.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    {"minilm": minilm, "random": random_models, "run": run}[a.cmd](a)


if __name__ == "__main__":
    main()
