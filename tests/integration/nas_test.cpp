// ptm nas end to end on a seconds-long super-network: super-network training resumes exactly,
// the search's front is non-dominated and deterministic, a killed search continues to the same
// result, an exported sub-network reloads with the loss and size the search measured, and bad
// recipes exit 2 before anything is written.
#include <sys/wait.h>

#include <csignal>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/models/elastic.h"
#include "ptm/models/safetensors.h"
#include "ptm/recipes/run_model.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

const std::string kSupernet = "pretrain --config tests/fixtures/recipes/supernet_gpt_small.yaml";
const std::string kSearch = "nas search --config tests/fixtures/recipes/nas_gpt_small.yaml";

std::string trained_supernet(const ptm::test::TempDir& tmp) {
  const std::string run = tmp.file("supernet");
  const auto r = run_ptm(kSupernet + " --run-dir " + run);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return " init_from.checkpoint=" + run + "/checkpoints/latest";
}

nlohmann::json json_file(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

bool dominates(const nlohmann::json& a, const nlohmann::json& b) {
  bool strictly = false;
  for (const auto& [name, v] : a.items()) {
    if (v.get<double>() > b.at(name).get<double>()) return false;
    strictly = strictly || v.get<double>() < b.at(name).get<double>();
  }
  return strictly;
}

// The tensor called `name` in a loaded weight file.
torch::Tensor named(const std::vector<std::pair<std::string, torch::Tensor>>& weights, const std::string& name) {
  for (const auto& [n, t] : weights)
    if (n == name) return t;
  FAIL("no tensor " << name);
  return {};
}

}  // namespace

TEST_CASE("a super-network run trains several sub-networks per step and resumes exactly", "[integration][nas]") {
  ptm::test::TempDir tmp;
  REQUIRE(run_ptm(kSupernet + " --run-dir " + tmp.file("a")).exit_code == 0);
  REQUIRE(run_ptm(kSupernet + " --run-dir " + tmp.file("b")).exit_code == 0);
  // b killed after its step-4 checkpoint, then resumed: the random sub-networks of steps 5-8
  // must be drawn again as the first time.
  fs::remove_all(tmp.file("b/checkpoints/step_00000008"));
  fs::remove(tmp.file("b/summary.json"));
  const auto r = run_ptm(kSupernet + " --run-dir " + tmp.file("b"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto a = ptm::models::load_safetensors(tmp.file("a/checkpoints/latest/model.safetensors"));
  const auto b = ptm::models::load_safetensors(tmp.file("b/checkpoints/latest/model.safetensors"));
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(torch::equal(a[i].second, b[i].second));
  }
  // The same recipe without the super-network trains other weights (the sub-networks count).
  REQUIRE(run_ptm(kSupernet + " --run-dir " + tmp.file("c") + " ~supernet").exit_code == 0);
  const auto c = ptm::models::load_safetensors(tmp.file("c/checkpoints/latest/model.safetensors"));
  CHECK_FALSE(torch::equal(named(a, "transformer.h.0.mlp.c_fc.weight"), named(c, "transformer.h.0.mlp.c_fc.weight")));
  CHECK(contains(read_text(tmp.file("a/log.txt")), "supernet: heads and neurons sorted by magnitude_l2"));
}

TEST_CASE("ptm nas search finds a non-dominated, deterministic front and export reloads its points", "[integration][nas]") {
  ptm::test::TempDir tmp;
  const std::string init = trained_supernet(tmp);
  const auto r = run_ptm(kSearch + init + " --run-dir " + tmp.file("s"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto points = json_file(tmp.file("s/points.json"));
  REQUIRE(points["objectives"] == nlohmann::json::array({"loss", "params"}));
  const auto& evaluated = points["evaluated"];
  CHECK(evaluated.size() >= 6);
  REQUIRE(!points["front"].empty());
  for (const auto& f : points["front"])
    for (const auto& e : evaluated) CHECK_FALSE(dominates(e["objectives"], f["objectives"]));
  CHECK(fs::exists(tmp.file("s/front.csv")));
  CHECK(fs::exists(tmp.file("s/points.csv")));

  // Same seed, same search; a random baseline with the same budget beside it changes nothing.
  REQUIRE(run_ptm(kSearch + init + " nas.baseline=random --run-dir " + tmp.file("t")).exit_code == 0);
  CHECK(json_file(tmp.file("t/points.json"))["evaluated"] == evaluated);
  CHECK_FALSE(fs::exists(tmp.file("s/baseline_points.json")));
  const auto baseline = json_file(tmp.file("t/baseline_points.json"));
  const auto t_summary = json_file(tmp.file("t/summary.json"));
  CHECK(baseline["evaluated"].size() == t_summary["baseline"]["evaluated"].get<size_t>());
  CHECK(baseline["evaluated"].size() <= evaluated.size());
  CHECK(t_summary["baseline"]["hypervolume_per_generation"].size() == t_summary["hypervolume_per_generation"].size());
  for (const auto& f : baseline["front"])
    for (const auto& e : baseline["evaluated"]) CHECK_FALSE(dominates(e["objectives"], f["objectives"]));
  const std::string svg = read_text(tmp.file("t/front.svg"));
  CHECK(contains(svg, "random search"));
  CHECK(contains(svg, "NSGA-II"));
  CHECK_FALSE(contains(read_text(tmp.file("s/front.svg")), "random search"));

  // The smallest front point, exported: its parameters and loss are what the search measured.
  const auto e = run_ptm("nas export --from " + tmp.file("s") + " --pick 0 --out " + tmp.file("x"));
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  const auto summary = nlohmann::json::parse(e.out);
  const auto& point = summary["search_point"];
  int64_t stored = 0;
  for (const auto& [name, t] : ptm::models::load_safetensors(tmp.file("x/checkpoints/latest/model.safetensors")))
    stored += t.numel();
  CHECK(stored == point["objectives"]["params"].get<int64_t>());
  const auto ev = run_ptm("eval --from " + tmp.file("x") + " --batches 2");
  INFO(ev.err);
  REQUIRE(ev.exit_code == 0);
  CHECK(nlohmann::json::parse(ev.out)["loss"].get<double>() == Approx(point["objectives"]["loss"].get<double>()).epsilon(1e-5));
  // A genome by hand, and one the model cannot run.
  CHECK(run_ptm("nas export --from " + tmp.file("s") + " --genome 2/16,-,4/64 --out " + tmp.file("y")).exit_code == 0);
  const auto bad = run_ptm("nas export --from " + tmp.file("s") + " --genome 8/16,-,4/64 --out " + tmp.file("z"));
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "heads must lie in [1, 4], got 8"));
  CHECK_FALSE(fs::exists(tmp.file("z")));
}

TEST_CASE("a killed ptm nas search continues from its last generation to the uninterrupted result", "[integration][nas]") {
  ptm::test::TempDir tmp;
  const std::string init = trained_supernet(tmp);
  // Multiply-accumulates instead of parameters as the cost (a forward pass of latency.seq_len
  // tokens), and offspring screened by the accuracy predictor (3 bred per evaluation).
  const std::string args = kSearch + init +
                           " nas.generations=4 nas.objectives=[loss,macs] nas.predictor.oversample=3"
                           " nas.predictor.min_points=6";
  const auto whole = run_ptm(args + " --run-dir " + tmp.file("a"));
  INFO(whole.err);
  REQUIRE(whole.exit_code == 0);
  const auto a = json_file(tmp.file("a/points.json"));
  REQUIRE(a["objectives"] == nlohmann::json::array({"loss", "macs"}));
  for (const auto& p : a["evaluated"]) CHECK(p["objectives"]["macs"].get<double>() > 0);
  CHECK(a["evaluated"].size() <= 6 * 4);  // the evaluation budget is unchanged
  const auto tau = json_file(tmp.file("a/summary.json"))["predictor"]["kendall_tau_per_generation"];
  REQUIRE(tau.size() == 3);
  for (const auto& t : tau)
    if (!t.is_null()) CHECK((t.get<double>() >= -1 && t.get<double>() <= 1));
  // Killed (SIGKILL) as soon as its first generation is saved, then started again.
  const std::string dir = tmp.file("b");
  const std::string script = std::string(ptm::test::ptm_binary()) + " " + args + " --run-dir " + dir +
                             " > /dev/null 2>&1 & p=$!\nfor i in $(seq 3000); do [ -s '" + dir +
                             "/search_state.json' ] && break; sleep 0.01; done\nkill -9 $p; wait $p\n";
  std::system(("cd '" + std::string(ptm::test::source_dir()) + "' && bash -c '" + [&] {
                std::string q;
                for (const char ch : script) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
                return q;
              }() + "'").c_str());
  REQUIRE(fs::exists(dir + "/search_state.json"));
  CHECK_FALSE(fs::exists(dir + "/summary.json"));
  const auto r = run_ptm(args + " --run-dir " + dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.err + read_text(dir + "/log.txt"), "continuing"));
  CHECK(json_file(dir + "/points.json")["front"] == json_file(tmp.file("a/points.json"))["front"]);
}

TEST_CASE("ptm nas refuses impossible spaces and budgets with exit 2, writing nothing", "[integration][nas]") {
  ptm::test::TempDir tmp;
  const std::string init = trained_supernet(tmp);
  const struct {
    std::string override_, message;
  } cases[] = {
      {"nas.heads=[2,8]", "nas"},
      {"nas.min_depth=5", "min_depth"},
      {"nas.max_params=10", "below the smallest sub-network"},
      {"nas.objectives=[loss,flops]", "flops"},
      {"nas.objectives=[loss]", "two or three objectives"},
  };
  for (const auto& c : cases) {
    INFO(c.override_);
    const auto r = run_ptm(kSearch + init + " " + c.override_ + " --run-dir " + tmp.file("bad"));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, c.message));
    CHECK_FALSE(fs::exists(tmp.file("bad")));
  }
  const auto r = run_ptm(kSupernet + " supernet.sampling=sandwich supernet.subnets=1 --run-dir " + tmp.file("bad"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "supernet.subnets"));
  const auto d = run_ptm(kSupernet + " supernet.sampling=uniform supernet.inplace_distill=true --run-dir " + tmp.file("bad"));
  CHECK(d.exit_code == 2);
  CHECK(contains(d.err, "supernet.inplace_distill"));
  CHECK(contains(d.err, "needs sampling: sandwich"));
  CHECK_FALSE(fs::exists(tmp.file("bad")));
}

TEST_CASE("a sub-network transformers can express exports to a folder with the super-network slice's logits",
          "[integration][nas]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir tmp;
  const std::string init = trained_supernet(tmp);
  // Every head and the same MLP width in every layer: a GPT-2 config.json with n_inner 32.
  const auto search = run_ptm(kSearch + init + " nas.population=2 nas.generations=1 --run-dir " + tmp.file("s"));
  INFO(search.err);
  REQUIRE(search.exit_code == 0);
  REQUIRE(run_ptm("nas export --from " + tmp.file("s") + " --genome 4/32,4/32,4/32 --out " + tmp.file("x")).exit_code == 0);
  const auto x = run_ptm("export --format hf --from " + tmp.file("x") + " --out " + tmp.file("hf"));
  INFO(x.err);
  REQUIRE(x.exit_code == 0);
  const auto config = json_file(tmp.file("hf/config.json"));
  CHECK(config["n_inner"] == 32);
  CHECK(config["n_layer"] == 3);
  const auto ids = torch::randint(300, {2, 32}, torch::kInt64);
  ptm::models::save_safetensors(tmp.file("in.safetensors"), {{"input_ids", ids}});
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/gpt2_reference.py' check " + tmp.file("hf") + " " + tmp.file("in.safetensors") +
                          " " + tmp.file("out.safetensors");
  REQUIRE(WEXITSTATUS(std::system(cmd.c_str())) == 0);
  const auto reference = ptm::models::SafetensorsFile(tmp.file("out.safetensors")).tensor("logits");
  // The slice of the trained super-network itself.
  const auto supernet = ptm::recipes::load_run_model(tmp.file("supernet"));
  ptm::models::set_subnet(*supernet.model, {{4, 32}, {4, 32}, {4, 32}});
  torch::NoGradGuard no_grad;
  ptm::data::Batch b;
  b.input_ids = ids;
  const auto logits = supernet.model->forward(b).logits;
  REQUIRE(logits.sizes() == reference.sizes());
  CHECK((logits - reference).abs().max().item<double>() <= 1e-4);
}

TEST_CASE("a ViT super-network trains on images, is searched on accuracy and latency, and exports a plain ViT",
          "[integration][nas][vit]") {
  if (!fs::exists(ptm::test::data_dir() + "/fashion-mnist/train-images-idx3-ubyte"))
    PTM_SKIP("no Fashion-MNIST in data/ (bash scripts/get-data.sh fashion-mnist)");
  ptm::test::TempDir tmp;
  auto r = run_ptm("pretrain --config tests/fixtures/recipes/supernet_vit_small.yaml --run-dir " + tmp.file("supernet"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("nas search --config tests/fixtures/recipes/nas_vit_small.yaml init_from.checkpoint=" +
              tmp.file("supernet/checkpoints/latest") + " --run-dir " + tmp.file("s"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto points = json_file(tmp.file("s/points.json"));
  REQUIRE(!points["front"].empty());
  for (const auto& e : points["evaluated"]) CHECK(e["objectives"]["latency_ms"].get<double>() > 0);
  // The front's smallest point as a plain ViT: its size and accuracy are what the search measured.
  const auto e = run_ptm("nas export --from " + tmp.file("s") + " --pick 0 --out " + tmp.file("x"));
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  const auto point = nlohmann::json::parse(e.out)["search_point"];
  CHECK(contains(read_text(tmp.file("x/config.yaml")), "layer_heads"));
  const auto ev = run_ptm("eval --from " + tmp.file("x") + " --batches 2");
  INFO(ev.err);
  REQUIRE(ev.exit_code == 0);
  const double accuracy = nlohmann::json::parse(ev.out)["accuracy"].get<double>();
  CHECK(accuracy == Approx(-point["objectives"]["neg_accuracy"].get<double>()).epsilon(1e-6));
}

