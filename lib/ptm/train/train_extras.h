// Parts of a training step kept out of the loop itself: gradient clipping, an exponential
// moving average of the weights, annealed Gaussian gradient noise, and text samples from language
// models. None of them synchronises with the host inside a step.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ptm/data/dataset.h"
#include "ptm/data/tokenizer.h"
#include "ptm/models/model.h"

namespace ptm::train {

// Token ids past the model's embedding or inputs longer than its positions fail deep inside a
// CUDA kernel ("device-side assert"); this says which keys disagree, before the first step.
// ConfigError naming both sides.
void check_data_fits_model(const data::BatchStream& data, const models::ModelImpl& model);

// True when every parameter of `model` and every tensor of `extra` is finite (one host sync):
// the check before weights are written to a checkpoint.
bool all_finite(models::ModelImpl& model, const models::NamedTensors& extra = {});

// shadow = decay * shadow + (1 - decay) * param after every optimizer step (one fused
// foreach call). swap() exchanges shadow and live weights (evaluate/save with the average,
// then swap back).
class WeightEma {
 public:
  WeightEma(models::ModelImpl& model, double decay);
  void update();
  void swap();
  // The averaged weights under the model's exported names (swaps in, reads, swaps back).
  models::NamedTensors state();
  void load(const models::NamedTensors& state);  // IoError naming a missing tensor

 private:
  models::ModelImpl& model_;
  double decay_;
  std::vector<torch::Tensor> params_, shadow_;
};

// Scales all gradients so their global L2 norm is at most `max_norm` (when > 0), without a
// host sync; returns the norm before clipping (a device scalar). Shared by the trainer and
// `ptm bench`, so both time the same step.
torch::Tensor clip_gradients(const std::vector<torch::Tensor>& params, double max_norm);

// Adds N(0, eta / (1 + step)^gamma) to every gradient (Neelakantan et al., 2015), drawn from a
// generator seeded by (seed, step) alone: a resumed run draws the same noise, and so does every
// data-parallel rank, whose replicas stay equal (and equal to one process's).
void add_gradient_noise(const std::vector<torch::Tensor>& params, double eta, double gamma, int64_t step,
                        uint64_t seed);

// Continues `prompt` by `tokens` tokens with temperature and top-k sampling (temperature 0:
// greedy), the context cropped to the last `context` tokens. Uses its own generator seeded
// by `seed`, so sampling never moves the training random stream. Returns the text.
std::string sample_text(models::ModelImpl& model, const data::Tokenizer& tokenizer, const std::string& prompt,
                        int64_t tokens, double temperature, int64_t top_k, int64_t context, uint64_t seed,
                        const torch::Device& device);

}  // namespace ptm::train
