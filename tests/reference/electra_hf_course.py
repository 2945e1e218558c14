"""Independent ELECTRA check with transformers: does a discriminator of ptm's electra_small shape
(L2/H128, generator H64, lambda 50, 15% masking 85/0/15, lr 3e-4 cosine) leave its prior on
Jane Austen in a few hundred steps of batch 8 x 64 tokens? Prints held-out discriminator
accuracy, replaced fraction and loss every 50 steps."""
import glob, math, sys
import numpy as np, torch
from transformers import ElectraConfig, ElectraForPreTraining, ElectraForMaskedLM
torch.manual_seed(0); np.random.seed(0); torch.set_num_threads(1)
d = 'data/prepared/janeausten_minilm'
def load(f):
    h = np.fromfile(f, dtype=np.int32, count=256)
    return np.fromfile(f, dtype=np.uint16 if h[0] == 20240520 else np.uint32, offset=1024).astype(np.int64)
tr = np.concatenate([load(f) for f in sorted(glob.glob(d + '/train_*.bin'))]); va = load(d + '/val_000000.bin')
T, B, steps, lr = 64, 8, int(sys.argv[1]) if len(sys.argv) > 1 else 300, float(sys.argv[2]) if len(sys.argv) > 2 else 3e-4
MASK, specials = 103, {0, 100, 101, 102, 103}
dc = ElectraConfig(vocab_size=30522, embedding_size=128, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=512, max_position_embeddings=512)
gc = ElectraConfig(vocab_size=30522, embedding_size=128, hidden_size=64, num_hidden_layers=2, num_attention_heads=1,
                   intermediate_size=256, max_position_embeddings=512)
disc, gen = ElectraForPreTraining(dc), ElectraForMaskedLM(gc)
gen.electra.embeddings = disc.electra.embeddings  # shared token (and position) embeddings, as in the paper
gen.generator_lm_head.weight = disc.electra.embeddings.word_embeddings.weight
params = list({id(p): p for p in list(disc.parameters()) + list(gen.parameters())}.values())
opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
warm = max(1, int(0.02 * steps))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
def batch(src, rng):
    starts = rng.integers(0, len(src) - T, B)
    return torch.tensor(np.stack([src[s:s + T] for s in starts]))
def step(ids, rng_t):
    special = torch.zeros_like(ids, dtype=torch.bool)
    for s in specials: special |= ids == s
    masked = (torch.rand(ids.shape, generator=rng_t) < 0.15) & ~special
    inp = ids.clone(); use_mask = masked & (torch.rand(ids.shape, generator=rng_t) < 0.85); inp[use_mask] = MASK
    labels = torch.where(masked, ids, torch.full_like(ids, -100))
    g = gen(input_ids=inp, labels=labels)
    with torch.no_grad():
        logits = g.logits[masked]
        u = torch.rand(logits.shape, generator=rng_t).clamp(1e-9, 1 - 1e-7)
        sampled = (logits - torch.log(-torch.log(u))).argmax(-1)
    rep = ids.clone(); rep[masked] = sampled
    dl = (rep != ids).float()
    out = disc(input_ids=rep)
    dloss = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, dl)
    acc = ((out.logits > 0).float() == dl).float().mean()
    return g.loss + 50 * dloss, dloss, acc, dl.mean(), (g.logits[masked].argmax(-1) == ids[masked]).float().mean()
rng = np.random.default_rng(1); rng_t = torch.Generator().manual_seed(2)
for s in range(1, steps + 1):
    disc.train(); gen.train()
    loss, *_ = step(batch(tr, rng), rng_t)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step(); sched.step()
    if s % 50 == 0:
        disc.eval(); gen.eval()
        vr, vt = np.random.default_rng(7), torch.Generator().manual_seed(8)
        with torch.no_grad():
            m = [torch.stack([x.float() for x in step(batch(va, vr), vt)[1:]]) for _ in range(10)]
        dloss, acc, q, mlm = torch.stack(m).mean(0).tolist()
        prior = -(q * math.log(q) + (1 - q) * math.log(1 - q))
        print(f"step {s}: disc acc {acc:.4f} (prior {1 - q:.4f}), disc loss {dloss:.4f} (prior {prior:.4f}), gen MLM acc {mlm:.4f}", flush=True)
