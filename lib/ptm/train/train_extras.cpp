// Weight EMA, gradient noise and text sampling.
#include "ptm/train/train_extras.h"

#include <cmath>
#include <optional>

#include "ptm/core/errors.h"

namespace ptm::train {

WeightEma::WeightEma(models::ModelImpl& model, double decay) : model_(model), decay_(decay) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters())
    if (p.requires_grad()) {
      params_.push_back(p);
      shadow_.push_back(p.detach().clone());
    }
}

void WeightEma::update() {
  torch::NoGradGuard no_grad;
  at::_foreach_lerp_(shadow_, params_, 1.0 - decay_);
}

void WeightEma::swap() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto live = params_[i].detach().clone();
    params_[i].copy_(shadow_[i]);
    shadow_[i].copy_(live);
  }
}

models::NamedTensors WeightEma::state() {
  swap();
  auto out = model_.hf_state_dict();
  for (auto& [name, t] : out) t = t.clone();
  swap();
  return out;
}

void WeightEma::load(const models::NamedTensors& state) {
  swap();  // shadow now live: load into the live tensors, then swap back
  const auto report = model_.load_hf_state_dict(state, true);
  swap();
  if (!report.ok()) throw IoError("ema.safetensors does not fit the model:\n" + report.str());
}

torch::Tensor clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return torch::zeros({});
  const auto norms = at::_foreach_norm(grads, 2);
  const auto total = torch::linalg_vector_norm(torch::stack(norms), 2, {}, false, torch::kFloat32);
  if (max_norm > 0) {
    const auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    at::_foreach_mul_(grads, coef);
  }
  return total;
}

void add_gradient_noise(const std::vector<torch::Tensor>& params, double eta, double gamma, int64_t step,
                        uint64_t seed) {
  if (eta <= 0) return;
  const double stddev = std::sqrt(eta / std::pow(1.0 + static_cast<double>(step), gamma));
  torch::NoGradGuard no_grad;
  std::optional<at::Generator> gen;  // on the gradients' device, made with the first one
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    if (!gen) {
      gen = at::globalContext().defaultGenerator(p.grad().device()).clone();
      gen->set_current_seed(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(step + 1)));
    }
    p.mutable_grad().add_(at::randn(p.grad().sizes(), *gen, p.grad().options()), stddev);
  }
}

std::string sample_text(models::ModelImpl& model, const data::Tokenizer& tokenizer, const std::string& prompt,
                        int64_t tokens, double temperature, int64_t top_k, int64_t context, uint64_t seed,
                        const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<int32_t> ids = tokenizer.encode(prompt);
  if (ids.empty()) ids.push_back(0);
  const size_t prompt_len = ids.size();
  for (int64_t i = 0; i < tokens; ++i) {
    const size_t start = ids.size() > static_cast<size_t>(context) ? ids.size() - context : 0;
    std::vector<int64_t> window(ids.begin() + static_cast<std::ptrdiff_t>(start), ids.end());
    data::Batch b;
    b.input_ids = torch::tensor(window, torch::kInt64).unsqueeze(0).to(device);
    auto logits = model.forward(b).logits.select(1, -1).squeeze(0).to(torch::kFloat32).cpu();  // [V]
    int64_t next;
    if (temperature <= 0) {
      next = logits.argmax().item<int64_t>();
    } else {
      logits = logits / temperature;
      if (top_k > 0 && top_k < logits.size(0)) {
        const auto kth = std::get<0>(logits.topk(top_k)).min();
        logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
      }
      next = torch::multinomial(logits.softmax(-1), 1, false, gen).item<int64_t>();
    }
    ids.push_back(static_cast<int32_t>(next));
  }
  model.train(was_training);
  return tokenizer.decode(std::vector<int32_t>(ids.begin() + static_cast<std::ptrdiff_t>(prompt_len), ids.end()));
}

void check_data_fits_model(const data::BatchStream& data, const models::ModelImpl& model) {
  std::vector<Diagnostic> problems;
  const int64_t data_vocab = data.vocab_size(), model_vocab = model.vocab_size();
  if (data_vocab > 0 && model_vocab > 0 && data_vocab > model_vocab)
    problems.push_back({Origin{}, "model.vocab_size",
                        std::to_string(model_vocab) + " is smaller than the data's vocabulary of " +
                            std::to_string(data_vocab) + " tokens (" + data.describe() +
                            "): ids from " + std::to_string(model_vocab) + " up would index past the embedding; set "
                            "model.vocab_size to at least " + std::to_string(data_vocab)});
  const int64_t length = data.sequence_length(), positions = model.max_positions();
  if (length > 0 && positions > 0 && length > positions)
    problems.push_back({Origin{}, "data",
                        "inputs of " + std::to_string(length) + " tokens (data.seq_len or data.max_length) are longer "
                        "than the " + std::to_string(positions) + " positions of the " + model.arch() +
                        " model (model.n_positions or max_position_embeddings); shorten the inputs"});
  if (!problems.empty()) throw ConfigError(problems);
}

bool all_finite(models::ModelImpl& model, const models::NamedTensors& extra) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flags;
  for (const auto& p : model.parameters()) flags.push_back(torch::isfinite(p).all());
  for (const auto& [name, t] : extra) flags.push_back(torch::isfinite(t).all());
  return flags.empty() || torch::stack(flags).all().item<bool>();
}

}  // namespace ptm::train
