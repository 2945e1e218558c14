// Evaluation runs in the run's own precision: an fp32 run on CUDA evaluates in fp32 (it used
// to autocast to bf16 whatever train.precision said), and bf16 on the CPU autocasts there
// (it used to run fp32 silently).
#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/models/gpt.h"
#include "ptm/objectives/objective.h"
#include "ptm/train/trainer.h"

using namespace ptm;

namespace {

// The same few LM batches on every pass.
class FixedBatches : public data::BatchStream {
 public:
  std::optional<data::Batch> next() override {
    if (cursor_ == 3) return std::nullopt;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(100 + cursor_++);
    const auto tokens = torch::randint(96, {4, 17}, gen, torch::kInt64);
    data::Batch b;
    b.input_ids = tokens.narrow(1, 0, 16).contiguous();
    b.targets = tokens.narrow(1, 1, 16).contiguous();
    return b;
  }
  nlohmann::json state() const override { return {{"batches", cursor_}}; }
  void load_state(const nlohmann::json& s) override { cursor_ = s["batches"]; }
  int64_t examples() const override { return 12; }
  std::string describe() const override { return "fixed batches"; }

 private:
  int64_t cursor_ = 0;
};

double eval_loss(models::ModelImpl& model, const torch::Device& device, const std::string& precision) {
  auto objective = objectives::make("causal_lm");
  objective->attach(model, device);
  FixedBatches stream;
  return train::evaluate(model, *objective, stream, device, 10, precision)["loss"].get<double>();
}

}  // namespace

// A small GPT with weights scaled up: at GPT-2's initialisation the logits are near zero and
// the loss is log(V) in any precision, so bf16 could not be told apart from fp32.
std::shared_ptr<models::GptImpl> small_gpt() {
  models::GptOptions o;
  o.vocab_size = 96;
  o.n_positions = 16;
  o.n_embd = 64;
  o.n_layer = 2;
  o.n_head = 4;
  torch::manual_seed(7);
  auto model = std::make_shared<models::GptImpl>(o);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters())
    if (p.dim() == 2) p.mul_(6);
  return model;
}

TEST_CASE("evaluation on the CPU follows train.precision", "[train]") {
  auto model = small_gpt();
  const double fp32 = eval_loss(*model, torch::kCPU, "fp32");
  // The reference: the same batches through the model with no autocast at all.
  double reference = 0;
  {
    torch::NoGradGuard no_grad;
    model->eval();
    FixedBatches stream;
    int64_t n = 0;
    while (auto b = stream.next()) {
      const auto logits = model->forward_ids(b->input_ids).logits;
      reference += torch::nn::functional::cross_entropy(logits.flatten(0, 1), b->targets.flatten()).item<double>();
      ++n;
    }
    reference /= static_cast<double>(n);
  }
  CHECK(std::abs(fp32 - reference) < 1e-5);
  CHECK(std::abs(eval_loss(*model, torch::kCPU, "auto") - fp32) < 1e-9);  // auto is fp32 on the CPU
  const double bf16 = eval_loss(*model, torch::kCPU, "bf16");
  CHECK(std::isfinite(bf16));
  CHECK(std::abs(bf16 - fp32) > 1e-5);  // bf16 rounds visibly: autocast ran
  CHECK(std::abs(bf16 - fp32) < 0.05);  // and it is the same model
}

TEST_CASE("evaluation on CUDA follows train.precision", "[gpu][train]") {
  if (!torch::cuda::is_available()) PTM_SKIP("no CUDA device");
  const bool tf32 = at::globalContext().allowTF32CuBLAS();
  at::globalContext().setAllowTF32CuBLAS(false);
  auto model = small_gpt();
  const double cpu = eval_loss(*model, torch::kCPU, "fp32");
  model->to(torch::kCUDA);
  const double fp32 = eval_loss(*model, torch::kCUDA, "fp32");
  const double bf16 = eval_loss(*model, torch::kCUDA, "bf16");
  at::globalContext().setAllowTF32CuBLAS(tf32);
  CHECK(std::abs(fp32 - cpu) < 1e-5);
  CHECK(std::abs(bf16 - cpu) > 1e-5);  // bf16 rounds visibly: the two paths are told apart
}
