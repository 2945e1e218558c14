// Layer importance from hidden-state similarities, and the layer criteria.
#include "ptm/compress/layer_prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ptm/core/errors.h"

namespace ptm::compress {
namespace {

// The `count` lowest scores' indices, ascending (ties: the lower index goes first).
std::vector<int64_t> lowest(const std::vector<double>& scores, int64_t count) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  order.resize(static_cast<size_t>(count));
  std::sort(order.begin(), order.end());
  return order;
}

class BlockInfluence : public LayerCriterion {
 public:
  LayerChoice choose(const HiddenSimilarity& s, int64_t n_layer, int64_t count) override {
    LayerChoice c;
    for (int64_t l = 0; l < n_layer; ++l) c.scores.push_back(1.0 - s.cosine[l][l + 1].item<double>());
    c.removed = lowest(c.scores, count);
    return c;
  }
};

class Angular : public LayerCriterion {
 public:
  LayerChoice choose(const HiddenSimilarity& s, int64_t n_layer, int64_t count) override {
    LayerChoice c;
    for (int64_t l = 0; l + count <= n_layer; ++l) c.scores.push_back(s.angle[l][l + count].item<double>());
    const int64_t start = lowest(c.scores, 1).front();
    for (int64_t l = start; l < start + count; ++l) c.removed.push_back(l);
    return c;
  }
};

class RandomLayers : public LayerCriterion {
 public:
  explicit RandomLayers(uint64_t seed) : seed_(seed) {}
  bool needs_data() const override { return false; }
  LayerChoice choose(const HiddenSimilarity&, int64_t n_layer, int64_t count) override {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_);
    const auto r = torch::rand({n_layer}, gen, torch::kFloat64);
    LayerChoice c;
    for (int64_t l = 0; l < n_layer; ++l) c.scores.push_back(r[l].item<double>());
    c.removed = lowest(c.scores, count);
    return c;
  }

 private:
  uint64_t seed_;
};

Registry<LayerCriterionFactory> make_registry() {
  Registry<LayerCriterionFactory> r("layer_criteria");
  r.add("block_influence", "1 - cos(input, output) of each layer on calibration batches: the lowest go (ShortGPT)",
        [](uint64_t) { return std::make_unique<BlockInfluence>(); });
  r.add("angular",
        "angular distance between the input and output of each block of remove_layers consecutive layers: the "
        "closest block goes (Gromov et al. 2024)",
        [](uint64_t) { return std::make_unique<Angular>(); });
  r.add("random", "layers drawn at random, seeded by run.seed: the baseline (no data)",
        [](uint64_t seed) { return std::make_unique<RandomLayers>(seed); });
  return r;
}

}  // namespace

HiddenSimilarity hidden_similarity(models::ModelImpl& model, data::BatchStream& stream, int64_t batches,
                                   const torch::Device& device) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  models::ForwardOptions fo;
  fo.output_hidden_states = true;
  fo.compute_logits = false;
  HiddenSimilarity s;
  torch::Tensor cos_sum, angle_sum;
  for (; s.batches < batches; ++s.batches) {
    auto b = stream.next();
    if (!b) break;
    const auto batch = b->to(device, true);
    const auto out = model.forward(batch, fo);
    const auto n = static_cast<int64_t>(out.hidden_states.size());
    // [N, tokens, C] of the real tokens, unit length.
    auto h = torch::stack(out.hidden_states).to(torch::kFloat32);
    h = h.reshape({n, -1, h.size(-1)});
    if (batch.attention_mask.defined()) h = h.index({torch::indexing::Slice(), batch.attention_mask.reshape({-1}) != 0});
    h = torch::nn::functional::normalize(h, torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-12));
    // cos[i, j, t] for every pair: [N, N, tokens].
    const auto cos = torch::einsum("itc,jtc->ijt", {h, h}).to(torch::kFloat64).clamp(-1.0, 1.0);
    const auto c = cos.sum(-1).cpu(), a = (torch::acos(cos) / M_PI).sum(-1).cpu();
    cos_sum = cos_sum.defined() ? cos_sum + c : c;
    angle_sum = angle_sum.defined() ? angle_sum + a : a;
    s.tokens += h.size(1);
  }
  model.train(was_training);
  if (s.tokens == 0) throw RuntimeError("prune: the train split of data: gave no calibration tokens");
  s.cosine = cos_sum / static_cast<double>(s.tokens);
  s.angle = angle_sum / static_cast<double>(s.tokens);
  return s;
}

Registry<LayerCriterionFactory>& layer_criteria() {
  static Registry<LayerCriterionFactory> r = make_registry();
  return r;
}

}  // namespace ptm::compress
