// ELECTRA: discriminator and generator over shared embeddings, FLOPs, summary, and the
// `electra` registry entry (the `model:` keys of bert plus generator_*).
#include "ptm/models/electra.h"

#include <algorithm>

#include "ptm/core/errors.h"
#include "ptm/models/bert.h"

namespace ptm::models {
namespace {

double layer_flops(const BertOptions& o, double T) {
  const double H = static_cast<double>(o.hidden_size), I = static_cast<double>(o.intermediate_size);
  return 8 * T * H * H + 4 * T * T * H + 4 * T * H * I;
}

}  // namespace

BertOptions ElectraOptions::generator() const {
  BertOptions g = discriminator;
  g.hidden_size = generator_hidden_size;
  if (generator_num_hidden_layers > 0) g.num_hidden_layers = generator_num_hidden_layers;
  g.num_attention_heads =
      generator_num_attention_heads > 0 ? generator_num_attention_heads : std::max<int64_t>(1, generator_hidden_size / 64);
  g.intermediate_size = generator_intermediate_size > 0 ? generator_intermediate_size : 4 * generator_hidden_size;
  g.head.type = "none";
  g.head_size = 0;  // per-layer sizes (a pruned discriminator's) do not carry over to the generator
  g.layer_heads.clear();
  g.layer_inner.clear();
  return g;
}

ElectraImpl::ElectraImpl(const ElectraOptions& o) : o_(o) {
  std::vector<Diagnostic> d;
  for (const auto& [key, what] : o.discriminator.problems()) d.push_back({Origin{"electra options", 0, 0}, key, what});
  for (const auto& [key, what] : o.generator().problems())
    d.push_back({Origin{"electra options", 0, 0}, "generator_" + key, what});
  if (!d.empty()) throw ConfigError(d);
  const auto& dc = o.discriminator;
  const auto g = o.generator();
  const int64_t H = dc.hidden_size;
  embeddings_ = register_module("embeddings", BertEmbeddings(dc));
  encoder_ = register_module("encoder", BertEncoder(dc));
  auto disc = register_module("discriminator_predictions", std::make_shared<torch::nn::Module>());
  disc_dense_ = disc->register_module("dense", Linear(H, H));
  disc_prediction_ = disc->register_module("dense_prediction", Linear(H, 1));
  auto gen = register_module("generator", std::make_shared<torch::nn::Module>());
  if (g.hidden_size != H) gen_project_ = gen->register_module("embeddings_project", Linear(H, g.hidden_size));
  gen_encoder_ = gen->register_module("encoder", BertEncoder(g));
  auto pred = gen->register_module("predictions", std::make_shared<torch::nn::Module>());
  gen_dense_ = pred->register_module("dense", Linear(g.hidden_size, H));
  gen_norm_ = pred->register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({H}).eps(dc.layer_norm_eps)));
  gen_bias_ = pred->register_parameter("bias", torch::zeros({dc.vocab_size}));
  init_bert_weights(*this);
}

torch::Tensor ElectraImpl::keep_mask(const data::Batch& b) const {
  if (!b.attention_mask.defined()) return {};
  return b.attention_mask.to(torch::kBool).view({b.input_ids.size(0), 1, 1, b.input_ids.size(1)});
}

ModelOutput ElectraImpl::forward(const data::Batch& batch, const ForwardOptions& options) {
  const auto& ids = batch.input_ids;  // [B, T]
  if (!ids.defined() || ids.dim() != 2) throw RuntimeError("electra: the batch needs input_ids of shape [B, T]");
  const auto types = batch.token_type_ids.defined() ? batch.token_type_ids : torch::zeros_like(ids);
  ModelOutput out;
  auto h = embeddings_(ids, types);  // [B, T, H]
  if (options.output_hidden_states) out.hidden_states.push_back(h);
  h = encoder_->forward(h, keep_mask(batch), options.output_hidden_states ? &out.hidden_states : nullptr,
                        options.output_attentions ? &out.attentions : nullptr);
  out.last_hidden = h;
  const auto act = bert_activation(o_.discriminator.hidden_act, disc_dense_(h));  // [B, T, H]
  out.logits = disc_prediction_(act).squeeze(-1);                                 // [B, T]
  return out;
}

torch::Tensor ElectraImpl::generator_logits(const data::Batch& batch, const torch::Tensor& rows) {
  const auto& ids = batch.input_ids;  // [B, T]
  const auto types = batch.token_type_ids.defined() ? batch.token_type_ids : torch::zeros_like(ids);
  auto h = embeddings_(ids, types);                // [B, T, H]
  if (!gen_project_.is_empty()) h = gen_project_(h);  // [B, T, Hg]
  h = gen_encoder_->forward(h, keep_mask(batch), nullptr, nullptr);
  h = h.flatten(0, 1).index_select(0, rows);                                     // [M, Hg]
  h = gen_norm_(bert_activation(o_.discriminator.hidden_act, gen_dense_(h)));   // [M, H]
  return at::linear(h, embeddings_->word_weight(), gen_bias_);                   // [M, V]
}

double ElectraImpl::forward_flops(int64_t seq_len) const {
  double total = 0;
  for (const auto& row : summary(seq_len)) total += row.flops;
  return total;
}

std::vector<BlockSummary> ElectraImpl::summary(int64_t seq_len) const {
  const double T = static_cast<double>(seq_len), H = static_cast<double>(o_.discriminator.hidden_size);
  const auto g = o_.generator();
  const double G = static_cast<double>(g.hidden_size), V = static_cast<double>(g.vocab_size);
  std::vector<BlockSummary> out;
  out.push_back({"embeddings", count_parameters(*embeddings_), 0});
  for (size_t i = 0; i < encoder_->size(); ++i)
    out.push_back({"encoder.layer." + std::to_string(i), count_parameters(*encoder_->layers()->ptr(i)),
                   layer_flops(o_.discriminator, T)});
  out.push_back({"discriminator_predictions",
                 count_parameters(*disc_dense_) + count_parameters(*disc_prediction_), 2 * T * H * H + 2 * T * H});
  for (size_t i = 0; i < gen_encoder_->size(); ++i)
    out.push_back({"generator.encoder.layer." + std::to_string(i), count_parameters(*gen_encoder_->layers()->ptr(i)),
                   layer_flops(g, T)});
  int64_t head = count_parameters(*gen_dense_) + count_parameters(*gen_norm_) + gen_bias_.numel();
  double head_flops = 2 * T * G * H + 2 * T * H * V;
  if (!gen_project_.is_empty()) {
    head += count_parameters(*gen_project_);
    head_flops += 2 * T * H * G;
  }
  out.push_back({"generator (projection + MLM head)", head, head_flops});
  return out;
}

nlohmann::json ElectraImpl::hf_config() const {
  auto o = o_.discriminator;
  o.head.type = "none";
  return o.to_hf_config();
}

void register_electra(Registry<ModelFactory>& r) {
  r.add("electra",
        "ELECTRA pretraining: BERT discriminator (replaced-token head) + small MLM generator sharing its "
        "embeddings; keys of bert plus generator_hidden_size/_num_hidden_layers/_num_attention_heads/"
        "_intermediate_size",
        [](config::Section& s) -> ModelBuilder {
          ElectraOptions o;
          s.opt("generator_hidden_size", o.generator_hidden_size, "generator width (ELECTRA: 1/4 of hidden_size)").min(1);
          s.opt("generator_num_hidden_layers", o.generator_num_hidden_layers, "generator layers (0: as the discriminator)")
              .min(0);
          s.opt("generator_num_attention_heads", o.generator_num_attention_heads,
                "generator heads (0: generator_hidden_size / 64)")
              .min(0);
          s.opt("generator_intermediate_size", o.generator_intermediate_size, "generator FFN width (0: 4 x its width)")
              .min(0);
          bind_bert(s, o.discriminator);
          for (const auto& [key, what] : o.generator().problems())
            if (key == "num_attention_heads") s.problem("generator_num_attention_heads", what);
          return [o] { return std::make_shared<ElectraImpl>(o); };
        });
}

}  // namespace ptm::models
