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
};

void bind(config::Section& s, TrainConfig& c);

}  // namespace ptm::train
