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
  s.finish();
}

}  // namespace ptm::train
