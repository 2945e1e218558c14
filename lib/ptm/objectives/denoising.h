// Denoising objectives on the corruption engine (registry names `denoising` and
// `position_prediction`): one objective covers BERT's MLM, span corruption, prefix LM, causal
// LM and UL2's weighted mixture of denoisers with mode tokens. Encoders (bert) predict each
// corrupted token at its own position; decoders (gpt) predict position t + 1 from position t,
// seeing the whole input (masked/span) or a bidirectional prefix (prefix) through
// token_type_ids = 1 on the prefix.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ptm/objectives/corruption.h"
#include "ptm/objectives/objective.h"

namespace ptm::objectives {

struct DenoiserSpec {
  CorruptionOptions corruption;
  double weight = 1.0;
  std::string mode_token;  // prepended to the input (UL2: [R], [X], [S]); "" for none
};

struct DenoisingOptions {
  std::string tokenizer;  // vocab.txt / tokenizer.json / folder: specials, [MASK], "##" pieces
  std::string mask_token = "[MASK]";
  std::string lexicon;  // a file of words (one a line) masked before all others; "" for none
  std::vector<DenoiserSpec> denoisers;
  int64_t eval_seed = 1234;  // evaluation corrupts with seeds derived from this and the batch
};

// The batch a model sees after corruption, cached between count_targets() and loss() of the
// same training micro-batch (the trainer counts targets before the forward passes).
class PreparedCache {
 public:
  template <class F>
  data::Batch get(const data::Batch& b, bool training, F&& prepare) const {
    if (training)
      for (auto it = pending_.begin(); it != pending_.end(); ++it)
        if (it->first == b.input_ids.unsafeGetTensorImpl()) {
          auto out = std::move(it->second);
          pending_.erase(it);
          return out;
        }
    return prepare(b, training);
  }
  void put(const data::Batch& b, data::Batch prepared) const {
    pending_.emplace_back(b.input_ids.unsafeGetTensorImpl(), std::move(prepared));
    while (pending_.size() > 256) pending_.pop_front();
  }

 private:
  mutable std::deque<std::pair<const void*, data::Batch>> pending_;
};

// A seed for evaluation-time corruption derived from `seed` and the batch's ids (one host sync).
uint64_t batch_seed(int64_t seed, const torch::Tensor& ids);

class Denoising : public Objective {
 public:
  explicit Denoising(const DenoisingOptions& o);
  void attach(models::ModelImpl& model, const torch::Device& device) override;
  LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) override;
  LossParts compute(const models::ModelOutput& out, const data::Batch& batch) const override;
  torch::Tensor count_targets(const data::Batch& batch) const override;
  std::string name() const override { return "denoising"; }

  // The corrupted batch (input_ids, targets = original ids at predicted positions and -100
  // elsewhere, attention_mask, token_type_ids) for a model of the given kind.
  data::Batch prepare(const data::Batch& b, bool training) const;
  // prepare(), or the batch count_targets() prepared for this training micro-batch.
  data::Batch prepared(const data::Batch& b, bool training) const {
    return cache_.get(b, training, [this](const data::Batch& x, bool t) { return prepare(x, t); });
  }
  void set_decoder(bool decoder) { decoder_ = decoder; }
  const std::vector<std::shared_ptr<CorruptionEngine>>& engines() const { return engines_; }

 private:
  DenoisingOptions o_;
  std::vector<std::shared_ptr<CorruptionEngine>> engines_;
  std::vector<int64_t> mode_ids_;   // per denoiser, -1 for none
  torch::Tensor weight_cdf_;        // [D] cumulative mixture weights
  bool decoder_ = false;            // gpt: targets shifted by one
  PreparedCache cache_;
};

// Reads the `objective:` keys of type denoising (the top-level keys are the defaults of every
// item of `denoisers:`); checks files exist. Problems are recorded on `s`.
void bind_denoising(config::Section& s, DenoisingOptions& o);
// Loads the tokenizer (and lexicon) of `o` into a vocabulary; ConfigError naming the key.
Vocabulary load_vocabulary(const std::string& tokenizer, const std::string& mask_token, const std::string& lexicon);

ObjectiveFactory denoising_factory();
ObjectiveFactory position_prediction_factory();
ObjectiveFactory electra_factory();  // electra_objective.cpp

}  // namespace ptm::objectives
