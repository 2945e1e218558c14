// Binding and range checks of the train section.
#include "ptm/train/train_config.h"

namespace ptm::train {

void bind(config::Section& s, TrainConfig& c) {
  s.opt("max_steps", c.max_steps, "optimizer steps").min(1);
  s.opt("batch_size", c.batch_size, "samples per micro-batch").min(1);
  s.opt("grad_accum_steps", c.grad_accum_steps, "micro-batches per optimizer step").min(1);
  s.opt("log_every", c.log_every, "steps between metrics lines").min(1);
  s.opt("eval_every", c.eval_every, "steps between evaluations (0 = at the end)").min(0);
  s.opt("eval_batches", c.eval_batches, "batches per evaluation").min(1);
  s.opt("save_every", c.save_every, "steps between checkpoints (0 = at the end)").min(0);
  s.opt("keep_last", c.keep_last, "checkpoints kept (0 = all)").min(0);
  s.opt("clip_grad_norm", c.clip_grad_norm, "max global gradient norm (0 = off)").min(0.0);
  s.opt("precision", c.precision, "numeric precision").one_of({"auto", "fp32", "bf16", "fp16"});
  s.opt("activation_checkpointing", c.activation_checkpointing,
        "recompute each transformer block in the backward pass: less memory, ~1/3 more compute (gpt, bert)");
  s.opt("cuda_graph", c.cuda_graph,
        "capture the training step in a CUDA graph and replay it (CUDA, fixed batch shapes)");
  s.opt("best_metric", c.best_metric, "evaluation metric that picks checkpoints/best (accuracy, macro_f1, loss, ...)");
  s.opt("best_mode", c.best_mode, "whether the best metric is minimised or maximised").one_of({"auto", "min", "max"});
  s.opt("early_stopping_patience", c.early_stopping_patience, "evaluations without improvement before stopping (0 = off)")
      .min(0);
  s.opt("write_predictions", c.write_predictions, "write predictions.jsonl from the final evaluation");
  s.opt("nan_policy", c.nan_policy, "on a non-finite loss or gradient").one_of({"abort", "skip"});
  s.opt("max_skipped_steps", c.max_skipped_steps, "skipped steps tolerated before aborting").min(0);
  s.opt("ema_decay", c.ema_decay, "weight EMA decay (0 = off)").min(0.0).max(0.999999);
  s.opt("grad_noise_eta", c.grad_noise_eta, "gradient noise variance at step 0 (0 = off)").min(0.0);
  s.opt("grad_noise_gamma", c.grad_noise_gamma, "gradient noise decay exponent").min(0.0);
  s.opt("sample_every", c.sample_every, "steps between text samples (0 = off)").min(0);
  s.opt("sample_prompt", c.sample_prompt, "prompt of the text samples");
  s.opt("sample_tokens", c.sample_tokens, "tokens generated per sample").min(1);
  s.opt("sample_temperature", c.sample_temperature, "sampling temperature (0 = greedy)").min(0.0);
  s.opt("sample_top_k", c.sample_top_k, "sample among the k most likely tokens (0 = all)").min(0);
  s.opt("sample_tokenizer", c.sample_tokenizer, "tokenizer for samples (default: the data set's)");
  s.opt("ddp_bucket_mb", c.ddp_bucket_mb, "data parallel: MB of gradients per all-reduce bucket").min(0.001);
  s.opt("ddp_find_unused", c.ddp_find_unused,
        "data parallel: allow parameters that get no gradient in a step (searches the graph each step)");
  s.opt("ddp_reduce_dtype", c.ddp_reduce_dtype, "data parallel: precision of the gradient all-reduce")
      .one_of({"fp32", "bf16"});
  s.opt("zero", c.zero, "data parallel: 1 shards the optimizer state across the ranks (ZeRO stage 1)").min(0).max(1);
  s.opt("tensorboard", c.tensorboard, "write TensorBoard event files to <run>/tb/");
  // fp16 gradients underflow without dynamic loss scaling, which ptm does not do: a run would
  // train silently worse. bf16 has fp32's range.
  if (c.precision == "fp16")
    s.problem("precision", "fp16 training needs dynamic loss scaling, which ptm does not do; use bf16 (same speed "
                           "on Ampere and newer GPUs, no scaling needed) or fp32");
  if (c.early_stopping_patience > 0 && c.best_metric.empty())
    s.problem("early_stopping_patience", "needs train.best_metric (the metric that must improve)");
  if (c.cuda_graph && c.activation_checkpointing)
    s.problem("cuda_graph", "cannot be combined with train.activation_checkpointing (its recompute resets the "
                            "random generator, which a captured graph cannot)");
  if (c.cuda_graph && c.grad_noise_eta > 0)
    s.problem("cuda_graph", "cannot be combined with train.grad_noise_eta (its noise scale changes every step)");
  s.finish();
}

bool TrainConfig::minimize_best() const {
  if (best_mode != "auto") return best_mode == "min";
  return best_metric == "loss" || best_metric == "mse" || best_metric == "perplexity";
}

}  // namespace ptm::train
