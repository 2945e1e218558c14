// `ptm merge`: soup and task-vector arithmetic on known tensors, and the real binary on small
// run directories (compatible, incompatible, LoRA folded into plain weights).
#include <torch/torch.h>

#include <filesystem>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"
#include "ptm/peft/arithmetic.h"
#include "ptm/peft/peft.h"
#include "ptm/recipes/recipe.h"

using namespace ptm;
using ptm::test::contains;
using ptm::test::run_ptm;
using ptm::test::TempDir;

namespace {

std::map<std::string, torch::Tensor> as_map(const models::NamedTensors& t) { return {t.begin(), t.end()}; }

std::string gpt_recipe(int64_t n_embd, int64_t seed, const std::string& extra = "") {
  return "run: {name: r, seed: " + std::to_string(seed) +
         "}\nmodel: {type: gpt, vocab_size: 40, n_positions: 16, n_embd: " + std::to_string(n_embd) +
         ", n_layer: 1, n_head: 4}\n" + extra;
}

// A run directory with config.yaml and one complete checkpoint of the recipe's model, its
// weights perturbed with `noise_seed`; returns the model.
std::shared_ptr<models::ModelImpl> fake_run(const TempDir& tmp, const std::string& name, const std::string& recipe,
                                            uint64_t noise_seed) {
  const std::string config = tmp.write(name + "/config.yaml", recipe);
  recipes::RecipeSource src;
  src.path = config;
  const auto r = recipes::load(src);
  auto model = r.model();
  if (r.peft) peft::apply(*r.peft, *model);
  torch::manual_seed(noise_seed);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.1);
  }
  const std::string ckpt = name + "/checkpoints/step_00000001";
  tmp.write(ckpt + "/trainer_state.json", "{}");
  models::save_safetensors(tmp.file(ckpt + "/model.safetensors"), model->hf_state_dict());
  tmp.write(ckpt + "/DONE", "");
  model->eval();
  return model;
}

models::NamedTensors file(const std::string& path) { return models::load_safetensors(path); }

}  // namespace

TEST_CASE("peft soup and task-vector arithmetic on known tensors", "[unit][peft][merge]") {
  const models::NamedTensors a = {{"w", torch::tensor({1.0, 2.0})}, {"b", torch::tensor({3.0, 4.0})}};
  const models::NamedTensors b = {{"b", torch::tensor({5.0, 0.0})}, {"w", torch::tensor({3.0, 6.0})}};  // order differs
  const auto avg = as_map(peft::average({a, b}));
  CHECK(torch::equal(avg.at("w"), torch::tensor({2.0, 4.0})));
  CHECK(torch::equal(avg.at("b"), torch::tensor({4.0, 2.0})));

  const models::NamedTensors base = {{"w", torch::tensor({1.0, 1.0})}};
  const models::NamedTensors ft1 = {{"w", torch::tensor({3.0, 1.0})}};
  const models::NamedTensors ft2 = {{"w", torch::tensor({1.0, 5.0})}};
  const auto tv = as_map(peft::apply_task_vectors(base, {ft1, ft2}, {1.0, -0.5}));
  CHECK(torch::equal(tv.at("w"), torch::tensor({3.0, -1.0})));  // 1 + 2 - 0, 1 + 0 - 0.5 * 4

  const models::NamedTensors wide = {{"w", torch::zeros({3})}, {"b", torch::zeros({2})}};
  CHECK(contains(test::error_of([&] {
                   peft::check_same_tensors({a, wide}, {"a.safetensors", "wide.safetensors"});
                 }),
                 "wide.safetensors"));
  CHECK(contains(test::error_of([&] {
                   peft::check_same_tensors({a, base}, {"a", "base"});
                 }),
                 "tensor b of a is missing"));
  CHECK_NOTHROW(peft::check_same_tensors({a, b}, {"a", "b"}));
}

TEST_CASE("ptm merge soup averages compatible runs and refuses incompatible ones with exit code 2",
          "[integration][peft][merge]") {
  TempDir tmp;
  fake_run(tmp, "a", gpt_recipe(32, 1), 1);
  fake_run(tmp, "b", gpt_recipe(32, 1), 2);
  fake_run(tmp, "wide", gpt_recipe(48, 1), 3);
  fake_run(tmp, "other_seed", gpt_recipe(32, 2), 4);
  const auto p = [&](const char* n) { return tmp.file(n); };

  auto r = run_ptm("merge soup --inputs " + p("a") + " " + p("b") + " --out " + p("soup"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto fa = as_map(file(p("a/checkpoints/step_00000001/model.safetensors")));
  const auto fb = as_map(file(p("b/checkpoints/step_00000001/model.safetensors")));
  const auto soup = file(p("soup/model.safetensors"));
  CHECK(soup.size() == fa.size());
  for (const auto& [name, t] : soup) CHECK(torch::allclose(t, (fa.at(name) + fb.at(name)) / 2, 1e-6, 1e-7));
  CHECK(std::filesystem::exists(p("soup/config.json")));
  CHECK(contains(test::read_text(p("soup/merge.json")), "uniform_soup"));

  r = run_ptm("merge soup --inputs " + p("a") + " " + p("wide") + " --out " + p("bad"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, p("wide") + "/checkpoints/step_00000001/model.safetensors"));
  CHECK(contains(r.err, "does not match"));
  r = run_ptm("merge soup --inputs " + p("a") + " " + p("other_seed") + " --out " + p("bad"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "share no initialisation"));
  CHECK(!std::filesystem::exists(p("bad")));
  r = run_ptm("merge soup --inputs " + p("a") + " " + p("b") + " --out " + p("soup"));
  CHECK(r.exit_code == 2);  // the output exists
  CHECK(contains(r.err, "--overwrite"));
}

TEST_CASE("ptm merge task-vector applies scaled differences to the base", "[integration][peft][merge]") {
  TempDir tmp;
  fake_run(tmp, "base", gpt_recipe(32, 1), 1);
  fake_run(tmp, "ft1", gpt_recipe(32, 1), 2);
  fake_run(tmp, "ft2", gpt_recipe(32, 1), 3);
  const auto p = [&](const char* n) { return tmp.file(n); };
  auto r = run_ptm("merge task-vector --base " + p("base") + " --inputs " + p("ft1") + " " + p("ft2") +
                   " --coef 1.0 -0.5 --out " + p("tv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto b = as_map(file(p("base/checkpoints/step_00000001/model.safetensors")));
  const auto f1 = as_map(file(p("ft1/checkpoints/step_00000001/model.safetensors")));
  const auto f2 = as_map(file(p("ft2/checkpoints/step_00000001/model.safetensors")));
  for (const auto& [name, t] : file(p("tv/model.safetensors"))) {
    const auto want = b.at(name) + (f1.at(name) - b.at(name)) - 0.5 * (f2.at(name) - b.at(name));
    CHECK(torch::allclose(t, want, 1e-5, 1e-6));
  }
  r = run_ptm("merge task-vector --base " + p("base") + " --inputs " + p("ft1") + " " + p("ft2") +
              " --coef 1 2 3 --out " + p("tv2"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "3 coefficients for 2 inputs"));
}

TEST_CASE("ptm merge lora folds a LoRA run into plain weights with the same logits", "[integration][peft][merge]") {
  TempDir tmp;
  const auto lora = fake_run(tmp, "lora", gpt_recipe(32, 1, "peft: {method: lora, rank: 4, alpha: 8}\n"), 5);
  fake_run(tmp, "plain", gpt_recipe(32, 1), 6);
  auto r = run_ptm("merge lora --from " + tmp.file("lora") + " --out " + tmp.file("merged"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  models::GptOptions o;
  o.vocab_size = 40;
  o.n_positions = 16;
  o.n_embd = 32;
  o.n_layer = 1;
  o.n_head = 4;
  models::GptImpl merged(o);
  REQUIRE(merged.load_hf_state_dict(file(tmp.file("merged/model.safetensors"))).ok());
  merged.eval();
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(0, 40, {2, 10}, torch::kLong);
  const auto want = dynamic_cast<models::GptImpl&>(*lora).forward_ids(ids).logits;
  CHECK((merged.forward_ids(ids).logits - want).abs().max().item<double>() < 1e-5);

  r = run_ptm("export --format hf --from " + tmp.file("lora") + " --out " + tmp.file("exported"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto exported = as_map(file(tmp.file("exported/model.safetensors")));
  for (const auto& [name, t] : file(tmp.file("merged/model.safetensors"))) CHECK(torch::equal(t, exported.at(name)));

  r = run_ptm("merge lora --from " + tmp.file("plain") + " --out " + tmp.file("none"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "holds no LoRA modules"));
}

TEST_CASE("ptm merge soup greedy keeps the best ingredient first and never gets worse", "[integration][peft][merge]") {
  TempDir tmp;
  for (const auto& [name, noise] : {std::pair<const char*, uint64_t>{"a", 1}, {"b", 2}, {"c", 3}})
    fake_run(tmp, name, gpt_recipe(32, 1), noise);
  const std::string eval = tmp.write("eval.yaml",
                                     "run: {name: e, seed: 3}\ntrain: {batch_size: 8}\nobjective: {type: causal_lm}\n"
                                     "data: {type: synthetic, kind: lm, vocab_size: 40, seq_len: 8, examples: 32}\n");
  const auto r = run_ptm("merge soup --greedy --eval-config " + eval + " --inputs " + tmp.file("a") + " " +
                         tmp.file("b") + " " + tmp.file("c") + " --out " + tmp.file("greedy"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto info = nlohmann::json::parse(test::read_text(tmp.file("greedy/merge.json")));
  CHECK(info["method"] == "greedy_soup");
  CHECK(info["metric"] == "loss");
  REQUIRE(info["ingredients"].size() == 3);
  std::string best;
  double best_loss = 1e30;
  for (const auto& ing : info["ingredients"])
    if (ing["eval"]["loss"].get<double>() < best_loss) {
      best_loss = ing["eval"]["loss"].get<double>();
      best = ing["input"].get<std::string>();
    }
  CHECK(info["kept"][0].get<std::string>() == best);
  CHECK(info["soup_eval"]["loss"].get<double>() <= best_loss + 1e-9);
  const auto no_eval =
      run_ptm("merge soup --greedy --inputs " + tmp.file("a") + " " + tmp.file("b") + " --out " + tmp.file("x"));
  CHECK(no_eval.exit_code == 2);
  CHECK(contains(no_eval.err, "--greedy needs a recipe"));
  // Evaluating must not change what is averaged (the inputs' tensors once aliased the model that
  // evaluates soups, so a uniform soup with --eval-config averaged overwritten weights).
  const auto evaluated = run_ptm("merge soup --eval-config " + eval + " --inputs " + tmp.file("a") + " " +
                                 tmp.file("b") + " " + tmp.file("c") + " --out " + tmp.file("uniform"));
  INFO(evaluated.err);
  REQUIRE(evaluated.exit_code == 0);
  const auto weights = [&](const char* run) {
    return as_map(file(tmp.file(run) + "/checkpoints/step_00000001/model.safetensors"));
  };
  const auto fa = weights("a"), fb = weights("b"), fc = weights("c");
  for (const auto& [name, t] : file(tmp.file("uniform/model.safetensors")))
    CHECK(torch::allclose(t, (fa.at(name) + fb.at(name) + fc.at(name)) / 3, 1e-6, 1e-7));

  // `ptm eval --config R init_from.hf=SOUP` evaluates the merged folder: the loss merge reported.
  const auto soup_loss =
      nlohmann::json::parse(test::read_text(tmp.file("uniform/merge.json")))["soup_eval"]["loss"].get<double>();
  const std::string recipe = tmp.write(
      "eval_gpt.yaml", gpt_recipe(32, 3, "train: {batch_size: 8}\nobjective: {type: causal_lm}\n"
                                         "data: {type: synthetic, kind: lm, vocab_size: 40, seq_len: 8, examples: 32}\n"));
  const auto e = run_ptm("eval --config " + recipe + " init_from.hf=" + tmp.file("uniform") + " --out " +
                         tmp.file("soup_eval.json"));
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(nlohmann::json::parse(test::read_text(tmp.file("soup_eval.json")))["loss"].get<double>() ==
        Approx(soup_loss).epsilon(1e-6));
  const auto none = run_ptm("eval --config " + recipe);
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "init_from: missing"));
}
