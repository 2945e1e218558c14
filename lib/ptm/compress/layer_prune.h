// Whole-layer removal (prune.granularity: layers): the layers of a GPT or BERT ranked by how
// little they change the residual stream on calibration batches, the `remove_layers` least
// important dropped (shrink() rebuilds the model without them). Layer criteria (registry
// "layer_criteria"), over the hidden states h_0 (embeddings output) .. h_L (layer L's output):
//   block_influence  1 - cos(h_{l-1}, h_l) of layer l, averaged over tokens (ShortGPT, Men et
//                    al. 2024): the layers with the lowest scores go, wherever they are
//   angular          arccos(cos(h_l, h_{l+n})) / pi averaged over tokens, for every block of n =
//                    remove_layers consecutive layers (Gromov et al. 2024): the block with the
//                    smallest distance goes
//   random           seeded by run.seed: the baseline (no data)
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ptm/core/registry.h"
#include "ptm/data/dataset.h"
#include "ptm/models/model.h"

namespace ptm::compress {

// Token-averaged similarities of every pair of hidden states, [L + 1, L + 1] float64 on the
// CPU (symmetric; 1 and 0 on the diagonal). Padding tokens (attention_mask 0) do not count.
struct HiddenSimilarity {
  torch::Tensor cosine;  // mean cos(h_i, h_j)
  torch::Tensor angle;   // mean arccos(cos(h_i, h_j)) / pi
  int64_t batches = 0, tokens = 0;
};

// Up to `batches` batches of `stream` through `model` (eval mode, no gradients).
HiddenSimilarity hidden_similarity(models::ModelImpl& model, data::BatchStream& stream, int64_t batches,
                                   const torch::Device& device);

struct LayerChoice {
  std::vector<int64_t> removed;  // ascending layer indices
  std::vector<double> scores;    // per layer (block_influence, random) or per block start (angular)
};

class LayerCriterion {
 public:
  virtual ~LayerCriterion() = default;
  virtual bool needs_data() const { return true; }
  // `count` of `n_layer` layers to remove (1 <= count < n_layer).
  virtual LayerChoice choose(const HiddenSimilarity& s, int64_t n_layer, int64_t count) = 0;
};

using LayerCriterionFactory = std::function<std::unique_ptr<LayerCriterion>(uint64_t seed)>;

Registry<LayerCriterionFactory>& layer_criteria();

}  // namespace ptm::compress
