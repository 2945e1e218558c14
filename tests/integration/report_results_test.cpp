// `ptm report` on folders that are not training runs: a pruning (its sparsity profile), an
// architecture search (its Pareto front against the random baseline, the same plot as its
// front.svg) and a merged model beside the runs it came from, checked against the folders'
// JSON by Python's parsers and headless Chromium (tests/golden/check_result_report.py).
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <tuple>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/core/fs_util.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

std::pair<int, std::string> golden(const std::string& script, const std::string& args, const ptm::test::TempDir& tmp) {
  const std::string out = tmp.file("python.out");
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/" + script + "' " + args + " >'" + out + "' 2>&1";
  const int rc = WEXITSTATUS(std::system(cmd.c_str()));
  return {rc, read_text(out)};
}

void must_run(const std::string& args) {
  const auto r = run_ptm(args);
  INFO(args << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("ptm report draws prunings' sparsity profiles and a search's front with its baseline",
          "[integration][report][compress][nas]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir tmp;
  must_run("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + tmp.file("trained"));
  const std::string prune = "prune --config tests/fixtures/recipes/prune_gpt_small.yaml init_from.checkpoint=" +
                            tmp.file("trained/checkpoints/latest");
  must_run(prune + " --run-dir " + tmp.file("wanda"));
  must_run(prune + " --run-dir " + tmp.file("heads") +
           " prune.granularity=structured ~prune.sparsity prune.structured.heads=0.5 prune.structured.neurons=0.25");
  must_run("pretrain --config tests/fixtures/recipes/supernet_gpt_small.yaml --run-dir " + tmp.file("supernet"));
  must_run("nas search --config tests/fixtures/recipes/nas_gpt_small.yaml init_from.checkpoint=" +
           tmp.file("supernet/checkpoints/latest") + " nas.baseline=random --run-dir " + tmp.file("search"));

  const std::string folders = tmp.file("wanda") + " " + tmp.file("heads") + " " + tmp.file("search");
  auto r = run_ptm("report " + folders + " --out " + tmp.file("r.html"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "2 pruning(s), 1 architecture search(es)"));
  const std::string checks = tmp.file("r.html") + " --prune " + tmp.file("wanda") + " --prune " + tmp.file("heads") +
                             " --search " + tmp.file("search");
  auto [rc, out] = golden("check_result_report.py", checks, tmp);
  INFO(out);
  CHECK(rc == 0);
  CHECK(contains(out, "\"baseline\": true"));

  // The terminal summary: each layer's sparsity and the front.
  r = run_ptm("report " + folders);
  REQUIRE(r.exit_code == 0);
  const auto sparsity = nlohmann::json::parse(read_text(tmp.file("wanda/sparsity.json")));
  char layer[64];
  std::snprintf(layer, sizeof(layer), "h.0 %.2f%%", 100 * sparsity["layers"][0]["sparsity"].get<double>());
  CHECK(contains(r.out, layer));
  CHECK(contains(r.out, "NSGA-II, "));
  CHECK(contains(r.out, "front of"));

  // A broken sparsity.json: one message naming it, exit 2.
  fs::create_directories(tmp.file("bad"));
  ptm::fs_util::write_file_atomic(tmp.file("bad/sparsity.json"), "{\"layers\": 3}\n");
  r = run_ptm("report " + tmp.file("bad"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "'" + tmp.file("bad/sparsity.json") + "' is not a ptm prune sparsity report"));

  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    PTM_SKIP("chromium is not installed (Debian: apt-get install chromium)");
  std::tie(rc, out) = golden("check_result_report.py", "--browser " + tmp.file("r.png") + " " + checks, tmp);
  INFO(out);
  CHECK(rc == 0);
  CHECK(contains(out, "\"screenshot\""));
  std::tie(rc, out) = golden("check_print.py", tmp.file("r.html") + " " + tmp.file("r.pdf"), tmp);
  INFO(out);
  CHECK(rc == 0);
}

TEST_CASE("ptm report puts a merged model's evaluation beside the runs it was made of", "[integration][report][peft]") {
  ptm::test::TempDir tmp;
  const std::string recipe = "finetune --config tests/fixtures/recipes/finetune_bert_small.yaml train.eval_every=2";
  must_run(recipe + " --run-dir " + tmp.file("a"));
  must_run(recipe + " optimizer.lr=0.01 --run-dir " + tmp.file("b"));
  must_run("merge soup --inputs " + tmp.file("a") + " " + tmp.file("b") + " --out " + tmp.file("soup"));
  must_run("eval --config " + tmp.file("a/config.yaml") + " init_from.hf=" + tmp.file("soup") + " --out " +
           tmp.file("soup/eval.json"));
  const auto eval = nlohmann::json::parse(read_text(tmp.file("soup/eval.json")));

  auto r = run_ptm("report " + tmp.file("a") + " " + tmp.file("b") + " " + tmp.file("soup") + " --out " +
                   tmp.file("r.html"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "report of 3 runs"));
  const std::string page = read_text(tmp.file("r.html"));
  char cell[96];
  std::snprintf(cell, sizeof(cell), "data-value=\"%.9g\"", eval["accuracy"].get<double>());
  // The soup's column of the final-accuracy row holds eval.json's accuracy.
  const auto row = page.find("<tr data-key=\"eval_accuracy\">");
  REQUIRE(row != std::string::npos);
  const auto row_end = page.find("</tr>", row);
  const std::string cells = page.substr(row, row_end - row);
  CHECK(cells.substr(cells.rfind("data-value=\""), std::strlen(cell)) == cell);
  CHECK(contains(page, "uniform_soup of a, b"));
  CHECK(contains(page, "- (merged)"));
  // Curves only for the runs: the soup has no series.
  CHECK_FALSE(contains(page, "data-series=\"soup\""));
  r = run_ptm("report " + tmp.file("soup"));
  REQUIRE(r.exit_code == 0);
  std::snprintf(cell, sizeof(cell), "accuracy %.5g", eval["accuracy"].get<double>());
  CHECK(contains(r.out, cell));
}
