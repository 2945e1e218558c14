#!/usr/bin/env python3
"""Hugging Face reference for BERT training-step throughput: the peer `ptm bench` is measured
against (scripts/bench_vs_pytorch.sh). Tasks: masked LM (default), sequence classification
(--task cls: a fine-tuning step), and logit distillation (--task distill: a frozen teacher's
forward pass in eval mode without gradients, then the student's forward and backward on
0.5 tau^2 KL(teacher || student at tau 2) + 0.5 CE, as ptm's distill objective).

transformers' BertForMaskedLM (SDPA attention, eager unless --compile), random tokens with every
position a target (the same work as ptm's recipes/bench/bert_base.yaml: MLM logits [B,T,V] scored
at all positions), AdamW(lr 6e-4, wd 0.1; fused on CUDA), bf16 autocast on CUDA, fp32 on CPU,
dropout 0.1 as in the BERT config (ptm's preset has the same).

  python3 bert_peer.py --device cuda --batch 32 --seq 512                  # BERT-base
  python3 bert_peer.py --device cpu --layers 4 --hidden 256 --heads 4 --intermediate 1024 --batch 8 --seq 64
  python3 bert_peer.py ... --mask-rate 0.15     # real MLM: 15% of the positions are targets
  python3 bert_peer.py --task cls --batch 32 --seq 128                     # BERT-base fine-tuning step
  python3 bert_peer.py --task distill --batch 32 --seq 128 --student-layers 6 --student-hidden 384 \
      --student-heads 12 --student-intermediate 1536                      # BERT-base -> MiniLM-L6 shape

Prints one JSON line like ../../../shared/peer/gpt_peer.py: {"impl": "hf-bert-eager", "tokens_per_s": ...}.
Exits 3 with a message on stderr when transformers is not installed.
"""
import argparse, json, sys, time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--intermediate", type=int, default=3072)
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--task", choices=["mlm", "cls", "distill"], default="mlm")
    p.add_argument("--labels", type=int, default=2, help="classes (cls, distill)")
    p.add_argument("--student-layers", type=int, default=6)
    p.add_argument("--student-hidden", type=int, default=384)
    p.add_argument("--student-heads", type=int, default=12)
    p.add_argument("--student-intermediate", type=int, default=1536)
    p.add_argument("--mask-rate", type=float, default=1.0,
                   help="fraction of positions with a label (the rest -100), as in real MLM training; "
                        "BertForMaskedLM still computes logits at every position")
    a = p.parse_args()
    try:
        import transformers
        from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification
    except ImportError:
        print("bert_peer.py: transformers is not installed; skipping the BERT peer", file=sys.stderr)
        sys.exit(3)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    dev = torch.device(a.device)
    def config(layers, hidden, heads, intermediate):
        return BertConfig(vocab_size=a.vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                          intermediate_size=intermediate, max_position_embeddings=max(512, a.seq), num_labels=a.labels)

    cfg = config(a.layers, a.hidden, a.heads, a.intermediate)
    teacher = None
    if a.task == "mlm":
        model = BertForMaskedLM._from_config(cfg, attn_implementation="sdpa")
    elif a.task == "cls":
        model = BertForSequenceClassification._from_config(cfg, attn_implementation="sdpa")
    else:  # the teacher has the --layers/--hidden shape; the student trains
        teacher = BertForSequenceClassification._from_config(cfg, attn_implementation="sdpa").to(dev).eval()
        for q in teacher.parameters():
            q.requires_grad_(False)
        model = BertForSequenceClassification._from_config(
            config(a.student_layers, a.student_hidden, a.student_heads, a.student_intermediate), attn_implementation="sdpa")
    model = model.to(dev).train()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1, fused=dev.type == "cuda")
    fwd = torch.compile(model) if a.compile else model
    x = torch.randint(a.vocab, (a.batch, a.seq), device=dev)
    mask = torch.ones_like(x)  # as a padded real batch would bring (ptm's synthetic data has one too)
    if a.task == "mlm":
        y = torch.randint(a.vocab, (a.batch, a.seq), device=dev)
        if a.mask_rate < 1.0:
            y[torch.rand(a.batch, a.seq, device=dev) >= a.mask_rate] = -100
    else:
        y = x[:, 0] % a.labels
    tau, alpha = 2.0, 0.5
    F = torch.nn.functional

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            if a.task == "mlm":
                loss = fwd(input_ids=x, labels=y).loss
            elif a.task == "cls":
                loss = fwd(input_ids=x, attention_mask=mask, labels=y).loss
            else:
                with torch.no_grad():
                    t_logits = teacher(input_ids=x, attention_mask=mask).logits
                s_logits = fwd(input_ids=x, attention_mask=mask).logits
                kd = F.kl_div(F.log_softmax(s_logits.float() / tau, -1), F.log_softmax(t_logits.float() / tau, -1),
                              log_target=True, reduction="batchmean") * tau * tau
                loss = alpha * kd + (1 - alpha) * F.cross_entropy(s_logits.float(), y)
        loss.backward()
        opt.step()
        return loss

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(a.warmup):
        step()
    sync()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    sync()
    dt = time.perf_counter() - t0
    tps = a.batch * a.seq * a.steps / dt
    print(json.dumps({
        "impl": "hf-bert-compile" if a.compile else "hf-bert-eager", "task": a.task,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
        "params": n_params, "batch": a.batch, "seq": a.seq, "layers": a.layers, "hidden": a.hidden, "mask_rate": a.mask_rate,
        "tokens_per_s": round(tps), "ms_per_step": round(1000 * dt / a.steps, 2), "loss": round(loss.item(), 4),
        "peak_mem_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if dev.type == "cuda" else None,
    }), flush=True)


if __name__ == "__main__":
    main()
