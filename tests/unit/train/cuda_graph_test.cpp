// train.cuda_graph: the optimizer's learning rate as a device tensor (what a captured step
// reads), and on CUDA ([gpu]) the captured and replayed step against the eager one: the same
// weights after a run with a changing learning rate, fresh dropout on every replay, and a
// clear error for a batch of another shape.
#include "catch.h"
#include "helpers.h"
#include "skip.h"

using ptm::test::contains;
#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"
#include "ptm/objectives/objective.h"
#include "ptm/optim/optimizer.h"
#include "ptm/train/checkpoint.h"
#include "ptm/train/cuda_graph_step.h"
#include "ptm/train/trainer.h"

using namespace ptm;

namespace {

// One step of SGD or AdamW on fixed gradients, the learning rate given as a double or a tensor.
torch::Tensor after_step(const std::string& type, bool tensor_lr, const torch::Device& device) {
  auto w = torch::tensor({{1.0, -2.0}, {0.5, 3.0}}, torch::TensorOptions().device(device).requires_grad(true));
  auto b = torch::tensor({0.25, -1.0}, torch::TensorOptions().device(device).requires_grad(true));
  optim::OptimizerConfig c;
  c.type = type;
  c.lr = 0.1;
  c.weight_decay = 0.3;
  optim::Optimizer opt({{"layer.weight", w}, {"layer.bias", b}}, c);
  for (int i = 0; i < 2; ++i) {
    w.mutable_grad() = torch::tensor({{0.2, -0.4}, {1.0, 0.1}}, device) * (i + 1);
    b.mutable_grad() = torch::tensor({1.0, -0.5}, device);
    const double lr = 0.1 / (i + 1);
    if (tensor_lr)
      opt.step(torch::full({}, lr, torch::TensorOptions().dtype(torch::kFloat32).device(device)));
    else
      opt.step(lr);
  }
  return torch::cat({w.detach().flatten(), b.detach().flatten()}).cpu();
}

bool cuda() { return torch::cuda::is_available(); }

models::GptOptions tiny_gpt(double dropout) {
  models::GptOptions o;
  o.vocab_size = 96;
  o.n_positions = 32;
  o.n_embd = 32;
  o.n_layer = 2;
  o.n_head = 4;
  o.embd_pdrop = o.attn_pdrop = o.resid_pdrop = dropout;
  return o;
}

// Endless random LM windows, the same for every instance with the same seed.
class RandomWindows : public data::BatchStream {
 public:
  RandomWindows(int64_t batch, int64_t seq, uint64_t seed) : batch_(batch), seq_(seq), seed_(seed) {}
  std::optional<data::Batch> next() override {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_ + cursor_++);
    const auto tokens = torch::randint(96, {batch_, seq_ + 1}, gen, torch::kInt64);
    data::Batch b;
    b.input_ids = tokens.narrow(1, 0, seq_).contiguous();
    b.targets = tokens.narrow(1, 1, seq_).contiguous();
    return b;
  }
  nlohmann::json state() const override { return {{"batches", cursor_}}; }
  void load_state(const nlohmann::json& s) override { cursor_ = s["batches"]; }
  int64_t examples() const override { return 1 << 20; }
  std::string describe() const override { return "random windows"; }

 private:
  int64_t batch_, seq_;
  uint64_t seed_, cursor_ = 0;
};

struct Run {
  std::string name;
  bool graph = false;
  int64_t batch = 4, accum = 1, max_steps = 8;
  std::string resume_from;  // a checkpoint folder, or ""
};

struct Trained {
  torch::Tensor params;  // flattened, on the CPU
  int64_t replays = 0;
  std::string run_dir;
};

// Trains the tiny GPT on CUDA (SGD with momentum, warm-up then cosine, clipping), graphed or
// not. SGD, because AdamW turns the rounding noise of gradients that are zero in exact
// arithmetic (attention's key bias) into +-lr steps.
Trained trained(const Run& r, const ptm::test::TempDir& d) {
  train::TrainerSetup s;
  s.run.name = r.name;
  s.device = "cuda";
  s.train.max_steps = r.max_steps;
  s.train.batch_size = r.batch;
  s.train.grad_accum_steps = r.accum;
  s.train.log_every = 4;
  s.train.eval_batches = 1;
  s.train.clip_grad_norm = 0.5;
  s.train.precision = "fp32";
  s.train.cuda_graph = r.graph;
  s.optimizer.type = "sgd";
  s.optimizer.lr = 0.05;
  s.resume_from = r.resume_from;
  torch::manual_seed(5);
  s.model = std::make_shared<models::GptImpl>(tiny_gpt(0.0));
  s.model->to(torch::kCUDA);
  s.objective = objectives::make("causal_lm");
  s.data = [](const data::StreamOptions& o) { return std::make_unique<RandomWindows>(o.batch_size, 16, 11); };
  s.schedule = [](int64_t total) {
    optim::WarmupDecayOptions w;
    w.warmup_steps = 3;
    return optim::make_cosine(w, total);
  };
  Trained t;
  t.run_dir = d.file(r.name);
  const auto run = RunDir::open(t.run_dir, RunDir::Mode::Fresh);
  t.replays = train::run_training(s, run).graph_replays;
  std::vector<torch::Tensor> flat;
  for (const auto& p : s.model->parameters()) flat.push_back(p.detach().flatten().cpu());
  t.params = torch::cat(flat);
  return t;
}

}  // namespace

TEST_CASE("the optimizer steps alike with the learning rate as a double or a tensor", "[unit][train]") {
  for (const char* type : {"adamw", "sgd"}) {
    INFO(type);
    const auto want = after_step(type, false, torch::kCPU);
    CHECK(torch::allclose(after_step(type, true, torch::kCPU), want, 1e-6, 1e-7));
    if (torch::cuda::is_available()) CHECK(torch::allclose(after_step(type, true, torch::kCUDA), want, 1e-5, 1e-6));
  }
}

TEST_CASE("a CUDA-graph step refuses a CPU device", "[unit][train]") {
  CHECK_THROWS_AS(train::CudaGraphStep(torch::kCPU), ConfigError);
}

TEST_CASE("a trainer run with the step in a CUDA graph ends with the eager run's weights", "[gpu][train]") {
  if (!cuda()) PTM_SKIP("no CUDA device");
  ptm::test::TempDir d;
  const auto eager = trained({"eager"}, d);
  const auto graphed = trained({"graph", true}, d);
  CHECK(eager.replays == 0);
  // 3 eager steps, the capture, 4 replays; the schedule changes the learning rate every step,
  // so a replay that kept the captured rate would end elsewhere.
  CHECK(graphed.replays == 5);
  CHECK(torch::allclose(graphed.params, eager.params, 1e-4, 1e-5));

  // Two accumulated micro-batches per step: both are static inputs of the one graph.
  const auto eager_accum = trained({"eager_accum", false, 2, 2}, d);
  const auto graph_accum = trained({"graph_accum", true, 2, 2}, d);
  CHECK(graph_accum.replays == 5);
  CHECK(torch::allclose(graph_accum.params, eager_accum.params, 1e-4, 1e-5));

  // Resumed from a checkpoint: the graph is captured again after three eager steps.
  const auto first = trained({"first", false, 4, 1, 4}, d);
  const auto checkpoint = train::latest_checkpoint(first.run_dir);
  REQUIRE(checkpoint);
  const auto resumed_eager = trained({"resumed_eager", false, 4, 1, 12, *checkpoint}, d);
  const auto resumed_graph = trained({"resumed_graph", true, 4, 1, 12, *checkpoint}, d);
  CHECK(resumed_graph.replays == 5);  // steps 4-6 eager, 7 captured, 8-11 replayed
  CHECK(torch::allclose(resumed_graph.params, resumed_eager.params, 1e-4, 1e-5));
}

TEST_CASE("replays of a captured step draw fresh dropout and reject other shapes", "[gpu][train]") {
  if (!cuda()) PTM_SKIP("no CUDA device");
  torch::manual_seed(1);
  models::Gpt model(tiny_gpt(0.3));
  model->to(torch::kCUDA);
  model->train();
  auto objective = objectives::make("causal_lm");
  objective->attach(*model, torch::kCUDA);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : model->named_parameters()) named.emplace_back(p.key(), p.value());
  optim::Optimizer opt(named, optim::OptimizerConfig{});
  const auto lr = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA));  // weights stay
  const train::StepBody body = [&](const std::vector<data::Batch>& mb) {
    train::StepTensors out;
    out.targets = objective->count_targets(mb[0]);
    out.loss_sum = objective->loss(*model, mb[0], true).loss_sum.to(torch::kFloat32);
    out.loss_sum.backward();
    out.loss_sum = out.loss_sum.detach();
    opt.step(lr);
    opt.zero_grad();
    return out;
  };
  RandomWindows windows(4, 16, 3);
  const auto batch = windows.next()->to(torch::kCUDA, false);
  train::CudaGraphStep graph(torch::kCUDA, 2);
  std::vector<double> losses;
  for (int i = 0; i < 6; ++i) losses.push_back(graph.run({batch}, body).loss_sum.item<double>());
  CHECK(graph.captured());
  CHECK(graph.replays() == 4);  // steps 3-6: the capture's own run, then three replays
  // Same batch, same weights: only dropout differs between replays.
  for (int i = 3; i < 6; ++i) {
    INFO("replay " << i);
    CHECK(std::isfinite(losses[i]));
    CHECK(losses[i] != losses[i - 1]);
  }
  const auto shorter = RandomWindows(4, 8, 3).next()->to(torch::kCUDA, false);
  const auto err = ptm::test::error_of([&] { graph.run({shorter}, body); });
  CHECK(contains(err, "train.cuda_graph"));
  CHECK(contains(err, "input_ids is [4, 8] Long, the captured [4, 16] Long"));
}
