// ELECTRA pretraining model (registry name `electra`): a discriminator (a BERT encoder with a
// per-token replaced/original head) and a small generator (a narrower BERT encoder with an MLM
// head) that share the discriminator's embeddings (word, position, token type, LayerNorm) and
// its word embeddings as the MLM decoder. forward() runs the discriminator; the `electra`
// objective drives the generator. Tensor names:
//   embeddings.*, encoder.layer.N.*          the discriminator, in BertModel's names
//   discriminator_predictions.{dense, dense_prediction}
//   generator.{embeddings_project, encoder.layer.N.*, predictions.{dense, LayerNorm, bias}}
// so a fine-tuning run loads the discriminator into a `bert` model with
// init_from: {checkpoint: runs/<electra run>/checkpoints/latest, strict: false}.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ptm/models/bert_layers.h"
#include "ptm/models/linear.h"
#include "ptm/models/model.h"

namespace ptm::models {

struct ElectraOptions {
  BertOptions discriminator;            // the encoder's shape (head ignored)
  int64_t generator_hidden_size = 64;   // ELECTRA: about 1/4 of the discriminator's
  int64_t generator_num_hidden_layers = 0;      // 0: as the discriminator
  int64_t generator_num_attention_heads = 0;    // 0: generator_hidden_size / 64, at least 1
  int64_t generator_intermediate_size = 0;      // 0: 4 x generator_hidden_size
  BertOptions generator() const;  // the generator encoder's options
};

class ElectraImpl : public ModelImpl {
 public:
  explicit ElectraImpl(const ElectraOptions& o);  // ConfigError when the options are inconsistent

  // Discriminator: logits [B, T] (> 0: replaced), last_hidden [B, T, H].
  ModelOutput forward(const data::Batch& batch, const ForwardOptions& options = {}) override;
  // Generator MLM logits of the batch's (masked) input_ids at the flattened positions `rows`
  // ([M] indices into B*T): [M, V]. The head runs on those rows only (the masked 15%).
  torch::Tensor generator_logits(const data::Batch& batch, const torch::Tensor& rows);
  std::string arch() const override { return "electra"; }
  int64_t vocab_size() const override { return o_.discriminator.vocab_size; }
  int64_t max_positions() const override { return o_.discriminator.max_position_embeddings; }
  double forward_flops(int64_t seq_len) const override;  // discriminator + generator
  std::vector<BlockSummary> summary(int64_t seq_len) const override;
  nlohmann::json hf_config() const override;  // the discriminator as a BertModel config
  const ElectraOptions& options() const { return o_; }

 private:
  torch::Tensor keep_mask(const data::Batch& b) const;  // [B, 1, 1, T] bool or undefined
  ElectraOptions o_;
  BertEmbeddings embeddings_{nullptr};
  BertEncoder encoder_{nullptr};
  Linear disc_dense_{nullptr}, disc_prediction_{nullptr};
  Linear gen_project_{nullptr};  // absent when the widths agree
  BertEncoder gen_encoder_{nullptr};
  Linear gen_dense_{nullptr};
  torch::nn::LayerNorm gen_norm_{nullptr};
  torch::Tensor gen_bias_;  // [V]
};
TORCH_MODULE(Electra);

void register_electra(Registry<ModelFactory>& r);

}  // namespace ptm::models
