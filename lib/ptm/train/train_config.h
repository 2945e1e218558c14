// The `train:` section: the training loop's length, batching, logging, evaluation and
// checkpoint cadence, gradient clipping and precision. Read by the Trainer.
#pragma once
#include <cstdint>
#include <string>

#include "ptm/config/binder.h"

namespace ptm::train {

struct TrainConfig {
  int64_t max_steps = 1000;      // optimizer steps
  int64_t batch_size = 8;        // sequences (or samples) per micro-batch
  int64_t grad_accum_steps = 1;  // micro-batches per optimizer step
  int64_t log_every = 10;        // steps between metrics lines
  int64_t eval_every = 0;        // steps between evaluations; 0 = only at the end
  int64_t eval_batches = 20;     // batches per evaluation
  int64_t save_every = 0;        // steps between checkpoints; 0 = only at the end
  int64_t keep_last = 3;         // checkpoints kept (0 = all)
  double clip_grad_norm = 1.0;   // global L2 norm; 0 disables clipping
  std::string precision = "auto";  // auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
  // Recompute each transformer block's activations in the backward pass (gpt, bert): less
  // memory for about a third more compute.
  bool activation_checkpointing = false;
  // Capture the whole step (forward, backward, clipping, optimizer) in a CUDA graph after a few
  // eager steps and replay it: no per-kernel launch cost. Needs CUDA and fixed batch shapes.
  bool cuda_graph = false;
  // Best checkpoint and early stopping, judged on the evaluation metrics.
  std::string best_metric;           // e.g. accuracy, macro_f1, loss; empty: no best checkpoint
  std::string best_mode = "auto";    // auto (min for loss/mse/perplexity, else max) | min | max
  int64_t early_stopping_patience = 0;  // evaluations without improvement before stopping; 0 = off
  bool write_predictions = true;     // predictions.jsonl from the final evaluation (classifiers, regression)
  // Non-finite loss or gradient: abort (naming the steps), or skip the step on the device
  // (no host sync) and abort only after max_skipped_steps skips.
  std::string nan_policy = "abort";  // abort | skip
  int64_t max_skipped_steps = 10;
  // Exponential moving average of the weights (0 = off); evaluations use the averaged weights,
  // saved as ema.safetensors next to each checkpoint's model.safetensors.
  double ema_decay = 0;
  // Annealed Gaussian gradient noise (Neelakantan et al. 2015): variance eta / (1 + t)^gamma.
  double grad_noise_eta = 0;
  double grad_noise_gamma = 0.55;
  // Text samples from language models every `sample_every` steps (0 = off), logged and
  // written to samples.jsonl.
  int64_t sample_every = 0;
  std::string sample_prompt = "\n";
  int64_t sample_tokens = 64;
  double sample_temperature = 0.8;
  int64_t sample_top_k = 40;
  std::string sample_tokenizer;  // tokenizer.json / vocab.txt; default: the data set's tokenizer
  // Data-parallel runs (torchrun, srun, ptm launch): gradient buckets all-reduced during the
  // backward pass (DDP's bucket_cap_mb), and whether parameters may get no gradient in a step.
  double ddp_bucket_mb = 25;
  bool ddp_find_unused = false;
  std::string ddp_reduce_dtype = "fp32";  // fp32 | bf16 (half the bytes on the wire)
  // ZeRO stage 1: 1 shards the optimizer state across the ranks (each keeps its share).
  int64_t zero = 0;
  // TensorBoard event files in <run>/tb/: the metrics as scalars, samples and the recipe as text.
  bool tensorboard = true;
  bool minimize_best() const;
};

void bind(config::Section& s, TrainConfig& c);

}  // namespace ptm::train
