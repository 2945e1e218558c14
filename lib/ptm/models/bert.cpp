// The BERT model: encoder + pooler + head, forward, analytic FLOPs, per-block summary, and the
// `bert` registry entry.
#include "ptm/models/bert.h"

#include "ptm/core/errors.h"
#include "ptm/models/low_rank.h"
#include "ptm/models/zoo.h"

namespace ptm::models {

BertImpl::BertImpl(const BertOptions& o) : o_(o) {
  const auto problems = o.problems();
  if (!problems.empty()) {
    std::vector<Diagnostic> d;
    for (const auto& [key, what] : problems) d.push_back({Origin{"bert options", 0, 0}, key, what});
    throw ConfigError(d);
  }
  embeddings_ = register_module("embeddings", BertEmbeddings(o));
  encoder_ = register_module("encoder", BertEncoder(o));
  if (o.has_pooler()) pooler_ = register_module("pooler", BertPooler(o));
  if (o.head.type == "mlm") {
    auto cls = register_module("cls", std::make_shared<torch::nn::Module>());
    mlm_ = cls->register_module("predictions", BertLMPredictionHead(o));
  } else if (o.head.type != "none") {
    classifier_dropout_ = register_module("dropout", torch::nn::Dropout(o.effective_classifier_dropout()));
    classifier_ = register_module("classifier", Linear(o.hidden_size, o.head.num_labels));
  }
  init_bert_weights(*this);
}

ModelOutput BertImpl::forward(const data::Batch& batch, const ForwardOptions& options) {
  return forward_qkv(batch, options, nullptr);
}

ModelOutput BertImpl::forward_qkv(const data::Batch& batch, const ForwardOptions& options,
                                  std::vector<std::array<torch::Tensor, 3>>* qkv) {
  const auto& ids = batch.input_ids;  // [B, T]
  if (!ids.defined() || ids.dim() != 2) throw RuntimeError("bert: the batch needs input_ids of shape [B, T]");
  const int64_t B = ids.size(0), T = ids.size(1);
  if (T > o_.max_position_embeddings)
    throw RuntimeError("bert: inputs of " + std::to_string(T) + " tokens exceed max_position_embeddings " +
                       std::to_string(o_.max_position_embeddings) + "; truncate them (data max_length)");
  const auto types = batch.token_type_ids.defined() ? batch.token_type_ids : torch::zeros_like(ids);  // [B, T]
  torch::Tensor keep;  // [B, 1, 1, T], true = a real token that may be attended to
  if (batch.attention_mask.defined()) keep = batch.attention_mask.to(torch::kBool).view({B, 1, 1, T});

  ModelOutput out;
  auto h = embeddings_(ids, types, options.embedding_delta);  // [B, T, H]
  if (options.output_hidden_states) out.hidden_states.push_back(h);
  h = encoder_->forward(h, keep, options.output_hidden_states ? &out.hidden_states : nullptr,
                        options.output_attentions ? &out.attentions : nullptr, qkv);
  out.last_hidden = h;
  if (!pooler_.is_empty()) out.pooled = pooler_(h);  // [B, H]
  const auto& head = o_.head.type;
  if (head == "mlm") {
    if (options.compute_logits) out.logits = head_logits(h);  // [B, T, V]
  } else if (head == "token_classification") {
    out.logits = classifier_(classifier_dropout_(h));  // [B, T, C]
  } else if (head == "classification" || head == "regression") {
    out.logits = classifier_(classifier_dropout_(out.pooled));                                 // [B, C]
    if (head == "regression" && o_.head.num_labels == 1) out.logits = out.logits.squeeze(-1);  // [B]
  }
  return out;
}

void BertImpl::set_subnet(const Subnet& subnet) {
  if (!subnet.empty()) check_subnet(subnet, full_subnet(*this));
  subnet_ = subnet;
  encoder_->skipped.clear();
  for (size_t l = 0; l < encoder_->size(); ++l) {
    const SubnetLayer s = subnet.empty() ? SubnetLayer{} : subnet[l];
    encoder_->layers()->ptr(l)->as<BertLayer>()->set_active(s.heads, s.inner);
    encoder_->skipped.push_back(s.skipped() && !subnet.empty());
  }
}

torch::Tensor BertImpl::head_logits(const torch::Tensor& hidden) {
  if (o_.head.type != "mlm") return {};
  return mlm_(hidden, embeddings_->word_weight());
}

namespace {

struct Flops {
  std::vector<double> layers;
  double pooler = 0, head = 0;
};

Flops flops_of(const BertOptions& o, int64_t seq_len) {
  const double T = static_cast<double>(seq_len), H = static_cast<double>(o.hidden_size);
  const double V = static_cast<double>(o.vocab_size), C = static_cast<double>(o.head.num_labels);
  Flops f;
  for (int64_t l = 0; l < o.num_hidden_layers; ++l) {
    const double A = static_cast<double>(o.heads_of(l) * o.head_dim()), I = static_cast<double>(o.inner_of(l));
    f.layers.push_back(8 * T * H * A + 4 * T * T * A + 4 * T * H * I);
  }
  f.pooler = o.has_pooler() ? 2 * H * H : 0;
  if (o.head.type == "mlm")
    f.head = 2 * T * H * H + 2 * T * H * V;
  else if (o.head.type == "token_classification")
    f.head = 2 * T * H * C;
  else if (o.head.type != "none")
    f.head = 2 * H * C;
  return f;
}

// What the factorised Linears of a layer (low_rank.h) save: r (in + out) multiply-accumulates
// per token instead of in x out.
double factorised_saving(const torch::nn::Module& layer, int64_t seq_len) {
  double saved = 0;
  for (const auto& item : layer.named_modules("", /*include_self=*/false))
    if (const auto* lin = item.value()->as<LinearImpl>())
      if (const int64_t r = factorised_rank(*lin)) {
        const int64_t in = lin->options.in_features(), out = lin->options.out_features();
        saved += 2.0 * static_cast<double>(seq_len) * static_cast<double>(in * out - r * (in + out));
      }
  return saved;
}

}  // namespace

double BertImpl::forward_flops(int64_t seq_len) const {
  double factorised = 0;
  for (size_t i = 0; i < encoder_->size(); ++i) factorised += factorised_saving(*encoder_->layers()->ptr(i), seq_len);
  const auto f = flops_of(o_, seq_len);
  double layers = 0;
  for (const double x : f.layers) layers += x;
  return layers - factorised + f.pooler + f.head;
}

std::vector<BlockSummary> BertImpl::summary(int64_t seq_len) const {
  const auto f = flops_of(o_, seq_len);
  std::vector<BlockSummary> out;
  out.push_back({"embeddings", count_parameters(*embeddings_), 0});
  for (size_t i = 0; i < encoder_->size(); ++i)
    out.push_back({"encoder.layer." + std::to_string(i), count_parameters(*encoder_->layers()->ptr(i)),
                   f.layers[i] - factorised_saving(*encoder_->layers()->ptr(i), seq_len)});
  if (!pooler_.is_empty()) out.push_back({"pooler", count_parameters(*pooler_), f.pooler});
  // The MLM decoder is the word embeddings: its parameters count under embeddings, its FLOPs here.
  if (!mlm_.is_empty()) out.push_back({"cls.predictions", count_parameters(*mlm_), f.head});
  if (!classifier_.is_empty()) out.push_back({"classifier", count_parameters(*classifier_), f.head});
  return out;
}

nlohmann::json BertImpl::hf_config() const { return o_.to_hf_config(); }

std::string BertImpl::hf_architecture() const { return o_.hf_architecture(); }

bool BertImpl::is_head_tensor(const std::string& name) {
  for (const char* encoder : {"embeddings.", "encoder.", "pooler."})
    if (name.rfind(encoder, 0) == 0) return false;
  return true;
}

ModelFactory bert_factory() {
  return [](config::Section& s) -> ModelBuilder {
    BertOptions o;
    bind_bert(s, o);
    return [o] { return std::make_shared<BertImpl>(o); };
  };
}

void register_bert(Registry<ModelFactory>& r) {
  r.add("bert",
        "BERT-style encoder (HF BertModel names; MiniLM, BERT-base, compact grid), head "
        "none|mlm|classification|token_classification|regression",
        bert_factory());
}

}  // namespace ptm::models
