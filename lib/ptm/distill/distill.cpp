// The distill objective: teacher loading (frozen, eval mode, no gradients, on the device),
// layer maps and projections, the weighted loss parts, and the recipe binding.
#include "ptm/distill/distill.h"

#include <cmath>
#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/core/sha256.h"
#include "ptm/distill/losses.h"
#include "ptm/distill/teacher_cache.h"
#include "ptm/models/bert.h"
#include "ptm/recipes/run_model.h"

namespace fs = std::filesystem;

namespace ptm::distill {
namespace {

namespace F = torch::nn::functional;

std::shared_ptr<models::ModelImpl> load_teacher(const DistillOptions& o) {
  if (o.teacher_model) return o.teacher_model;
  if (!o.teacher_hf.empty()) return models::load_hf_bert(o.teacher_hf);
  if (!o.teacher_checkpoint.empty()) return recipes::load_run_model(o.teacher_checkpoint).model;
  throw ConfigError(Origin{}, "objective.teacher", "missing: distill needs teacher: {hf: folder} or {checkpoint: run}");
}

std::string teacher_source(const DistillOptions& o) {
  if (!o.teacher_hf.empty()) return "hf:" + fs::weakly_canonical(o.teacher_hf).string();
  if (!o.teacher_checkpoint.empty()) return "checkpoint:" + fs::weakly_canonical(o.teacher_checkpoint).string();
  return "in-memory";
}

// The teacher's path alone does not name its weights (a teacher retrained into the same run
// folder would reuse stale cached logits), so the cache identity adds a hash of the weights.
std::string weights_fingerprint(models::ModelImpl& m) {
  Sha256 h;
  for (const auto& item : m.named_parameters()) {
    const auto c = item.value().detach().to(torch::kCPU).contiguous();
    h.update(item.key());
    h.update(c.data_ptr(), c.nbytes());
  }
  return h.hex().substr(0, 16);
}

models::BertImpl* as_bert(models::ModelImpl& m) { return dynamic_cast<models::BertImpl*>(&m); }

torch::Tensor count_of(int64_t n, const torch::Tensor& like) {
  return torch::scalar_tensor(n, torch::TensorOptions().dtype(torch::kInt64).device(like.device()));
}

}  // namespace

DistillObjective::DistillObjective(DistillOptions o) : o_(std::move(o)) {}
DistillObjective::~DistillObjective() = default;

void DistillObjective::attach(models::ModelImpl& model, const torch::Device& device) {
  if (!teacher_) {
    teacher_ = load_teacher(o_);
    teacher_->to(device);
    teacher_->eval();
    for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
    log::info("distill: teacher " + teacher_->arch() + " (" + std::to_string(models::count_parameters(*teacher_)) +
              " parameters, frozen) from " + teacher_source(o_));
  }
  if (!o_.cache.empty() && !cache_)
    cache_ = std::make_unique<TeacherCache>(o_.cache, teacher_source(o_) + " weights:" + weights_fingerprint(*teacher_));
  if (!o_.internals()) return;
  auto* student = as_bert(model);
  auto* teacher = as_bert(*teacher_);
  if (!student || !teacher)
    throw ConfigError(Origin{}, "objective.hidden_weight",
                      "hidden-state and attention-relation distillation need a bert student and a bert teacher "
                      "(got " + model.arch() + " and " + teacher_->arch() + "); set hidden_weight, attention_weight "
                      "and value_weight to 0 for logit distillation");
  const auto& so = student->options();
  const auto& to = teacher->options();
  if (o_.hidden_weight > 0 && layer_map_.empty()) {
    layer_map_ = o_.layer_map.empty() ? uniform_layer_map(so.num_hidden_layers, to.num_hidden_layers) : o_.layer_map;
    if (static_cast<int64_t>(layer_map_.size()) != so.num_hidden_layers)
      throw ConfigError(Origin{}, "objective.layer_map",
                        "needs one teacher layer per student layer (" + std::to_string(so.num_hidden_layers) +
                            "), got " + std::to_string(layer_map_.size()));
    for (const auto t : layer_map_)
      if (t < 0 || t > to.num_hidden_layers)
        throw ConfigError(Origin{}, "objective.layer_map",
                          "teacher layer " + std::to_string(t) + " is out of range 0.." +
                              std::to_string(to.num_hidden_layers) + " (0 = the embeddings output)");
    if (so.hidden_size != to.hidden_size) {
      // One learned projection student width -> teacher width per mapped layer (PyTorch's Linear init).
      const double bound = 1.0 / std::sqrt(static_cast<double>(so.hidden_size));
      const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
      for (size_t j = 0; j < layer_map_.size(); ++j) {
        proj_w_.push_back(torch::empty({to.hidden_size, so.hidden_size}, opts).uniform_(-bound, bound).requires_grad_());
        proj_b_.push_back(torch::empty({to.hidden_size}, opts).uniform_(-bound, bound).requires_grad_());
      }
    }
    std::string text;
    for (size_t j = 0; j < layer_map_.size(); ++j)
      text += (j ? ", " : "") + std::to_string(j + 1) + "<-" + std::to_string(layer_map_[j]);
    log::info("distill: hidden-state layer map (student<-teacher) " + text +
              (proj_w_.empty() ? "" : "; learned projections " + std::to_string(so.hidden_size) + "->" +
                                          std::to_string(to.hidden_size)));
  }
  if (o_.attention_weight > 0 || o_.value_weight > 0) {
    relation_heads_ = o_.relation_heads > 0 ? o_.relation_heads : so.num_attention_heads;
    for (const auto width : {so.hidden_size, to.hidden_size})
      if (width % relation_heads_ != 0)
        throw ConfigError(Origin{}, "objective.relation_heads",
                          std::to_string(relation_heads_) + " relation heads do not divide the hidden width " +
                              std::to_string(width) + " (student " + std::to_string(so.hidden_size) + ", teacher " +
                              std::to_string(to.hidden_size) + ")");
  }
}

objectives::LossParts DistillObjective::loss(models::ModelImpl& model, const data::Batch& b, bool training) {
  (void)training;
  if (!teacher_) throw RuntimeError("distill: attach() was not called before loss()");
  models::ForwardOptions fo;
  fo.output_hidden_states = o_.hidden_weight > 0;
  const bool relations = o_.attention_weight > 0 || o_.value_weight > 0;
  // {query, key, value} projections per layer [B, T, H] (relations; bert, checked in attach).
  std::vector<std::array<torch::Tensor, 3>> sqkv, tqkv;
  const auto out = relations ? as_bert(model)->forward_qkv(b, fo, &sqkv) : model.forward(b, fo);

  torch::Tensor t_logits;
  models::ModelOutput tout;
  if (cache_) t_logits = cache_->lookup(b);
  if (!t_logits.defined()) {
    torch::NoGradGuard no_grad;
    tout = relations ? as_bert(*teacher_)->forward_qkv(b, fo, &tqkv) : teacher_->forward(b, fo);
    t_logits = tout.logits;
    if (cache_ && t_logits.defined()) cache_->insert(b, t_logits);
  }

  objectives::LossParts p;
  const auto keep = b.attention_mask;  // [B, T] or undefined
  p.targets = count_targets(b);
  torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(p.targets.device()));
  if (out.logits.defined() && t_logits.defined()) {
    const auto s = out.logits.to(torch::kFloat32);
    const auto t = t_logits.detach().to(torch::kFloat32);
    const auto token_keep = s.dim() == 3 ? keep : torch::Tensor();
    const auto kd = (o_.logit_loss == "js" ? kd_js(s, t, o_.temperature, token_keep)
                                           : kd_kl(s, t, o_.temperature, token_keep)).sum();
    if (o_.alpha > 0) total = total + o_.alpha * kd;
    p.sums["kd"] = kd.detach();
    const bool classes = s.dim() == 2 && b.labels.defined() && b.labels.scalar_type() == torch::kInt64;
    if (o_.alpha < 1 && !classes)
      throw RuntimeError("distill: alpha < 1 mixes in cross entropy on class labels, but the batch has none (or the "
                         "model is not a classifier); set objective.alpha=1 for label-free distillation");
    if (s.dim() == 2) {
      const auto predicted = s.argmax(-1);
      p.sums["agreement"] = (predicted == t.argmax(-1)).sum();
      if (classes) {
        const auto ce = F::cross_entropy(s, b.labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
        if (o_.alpha < 1) total = total + (1 - o_.alpha) * ce;
        p.sums["ce"] = ce.detach();
        p.sums["accuracy"] = (predicted == b.labels).sum();
        p.sums["teacher_accuracy"] = (t.argmax(-1) == b.labels).sum();
        p.predictions = predicted;
        p.references = b.labels;
        p.probabilities = s.softmax(-1).detach();
      }
    }
  }
  if (o_.hidden_weight > 0) {
    torch::Tensor h = torch::zeros_like(total);
    for (size_t j = 0; j < layer_map_.size(); ++j) {
      auto s = out.hidden_states.at(j + 1).to(torch::kFloat32);  // [B, T, H_S]
      if (!proj_w_.empty()) s = F::linear(s, proj_w_[j], proj_b_[j]);  // [B, T, H_T]
      h = h + hidden_loss(s, tout.hidden_states.at(layer_map_[j]), keep, o_.hidden_loss).sum();
    }
    h = h / static_cast<double>(layer_map_.size());
    total = total + o_.hidden_weight * h;
    p.sums["hidden"] = h.detach();
  }
  if (o_.attention_weight > 0) {
    const auto& s = sqkv.back();
    const auto& t = tqkv.back();
    const auto a = relation_kl(s[0], s[1], t[0], t[1], relation_heads_, keep).sum();
    total = total + o_.attention_weight * a;
    p.sums["attention"] = a.detach();
  }
  if (o_.value_weight > 0) {
    const auto& s = sqkv.back();
    const auto& t = tqkv.back();
    const auto v = relation_kl(s[2], s[2], t[2], t[2], relation_heads_, keep).sum();
    total = total + o_.value_weight * v;
    p.sums["value"] = v.detach();
  }
  p.loss_sum = total;
  return p;
}

objectives::LossParts DistillObjective::compute(const models::ModelOutput&, const data::Batch&) const {
  throw RuntimeError("distill: the loss needs the teacher's forward pass; call loss(), not compute()");
}

models::NamedTensors DistillObjective::parameters() const {
  models::NamedTensors named;
  for (size_t j = 0; j < proj_w_.size(); ++j) {
    named.emplace_back("hidden_proj." + std::to_string(j + 1) + ".weight", proj_w_[j]);
    named.emplace_back("hidden_proj." + std::to_string(j + 1) + ".bias", proj_b_[j]);
  }
  return named;
}

torch::Tensor DistillObjective::count_targets(const data::Batch& b) const {
  return count_of(b.size(), b.input_ids.defined() ? b.input_ids : b.images);
}

std::vector<std::string> DistillObjective::metric_names() const {
  return {"accuracy", "macro_f1", "mcc", "precision", "recall", "f1", "kd", "ce", "agreement", "teacher_accuracy",
          "hidden", "attention", "value"};
}

double DistillObjective::extra_forward_flops(int64_t seq_len) const {
  return teacher_ && !cache_ ? teacher_->forward_flops(seq_len) : 0.0;
}

void bind(config::Section& s, DistillOptions& o) {
  auto t = s.sub("teacher");
  if (t.opt("hf", o.teacher_hf, "Hugging Face BERT folder (config.json + safetensors)").ok() && !o.teacher_hf.empty() &&
      !fs::exists(o.teacher_hf + "/config.json"))
    t.problem("hf", "'" + o.teacher_hf + "' holds no config.json (expected a Hugging Face BERT folder" +
                        (fs::exists(o.teacher_hf) ? ")" : "; it does not exist)"));
  if (t.opt("checkpoint", o.teacher_checkpoint, "ptm run directory (newest checkpoint) or checkpoint folder").ok() &&
      !o.teacher_checkpoint.empty() && !fs::exists(o.teacher_checkpoint))
    t.problem("checkpoint", "'" + o.teacher_checkpoint + "' does not exist (expected a ptm run directory or checkpoint)");
  if (!o.teacher_hf.empty() && !o.teacher_checkpoint.empty()) t.problem("hf", "give either hf or checkpoint, not both");
  t.finish();
  if (o.teacher_hf.empty() && o.teacher_checkpoint.empty())
    s.problem("teacher", "missing: distill needs teacher: {hf: folder} or {checkpoint: run or checkpoint}");
  s.opt("temperature", o.temperature, "softmax temperature tau of logit KD (scaled by tau^2)").above(0.0);
  s.opt("alpha", o.alpha, "weight of logit KD; 1 - alpha weighs cross entropy on labels (1 = label-free)")
      .min(0.0)
      .max(1.0);
  s.opt("logit_loss", o.logit_loss, "kl (Hinton KD) | js (Jensen-Shannon)").one_of({"kl", "js"});
  s.opt("hidden_weight", o.hidden_weight, "weight of hidden-state KD (0 = off)").min(0.0);
  s.opt("hidden_loss", o.hidden_loss, "mse | cosine").one_of({"mse", "cosine"});
  s.opt("layer_map", o.layer_map, "teacher hidden-state index per student layer (0 = embeddings); [] = uniform");
  s.opt("attention_weight", o.attention_weight, "weight of MiniLM last-layer attention-distribution KL").min(0.0);
  s.opt("value_weight", o.value_weight, "weight of MiniLM last-layer value-relation KL").min(0.0);
  s.opt("relation_heads", o.relation_heads, "relation heads of the MiniLM losses (0 = the student's heads)").min(0);
  if (s.opt("cache", o.cache, "file caching teacher logits across epochs (\"\" = none)").ok() && !o.cache.empty() &&
      o.internals())
    s.problem("cache", "caches teacher logits only; drop it when hidden_weight, attention_weight or value_weight is set");
  s.finish();
}

objectives::ObjectiveFactory distill_factory() {
  return [](config::Section& s) -> objectives::ObjectiveBuilder {
    DistillOptions o;
    bind(s, o);
    return [o] { return std::make_unique<DistillObjective>(o); };
  };
}

}  // namespace ptm::distill
