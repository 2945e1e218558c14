// What a run leaves for people to look at: TensorBoard event files read back by TensorBoard's
// own event reader and tbparse (tests/golden/tensorboard_reference.py) with metrics.jsonl's
// numbers, each step once after a resume; and `ptm report` pages checked by Python's parsers
// and headless Chromium against metrics.jsonl (tests/golden/check_report.py).
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/tb_events.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

// Runs a script of tests/golden with the reference Python; returns {exit code, stdout+stderr}.
std::pair<int, std::string> golden(const std::string& script, const std::string& args, const ptm::test::TempDir& tmp) {
  const std::string out = tmp.file("python.out");
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/" + script + "' " + args + " >'" + out + "' 2>&1";
  const int rc = WEXITSTATUS(std::system(cmd.c_str()));
  return {rc, read_text(out)};
}

std::string events_file(const std::string& run) {
  for (const auto& e : fs::directory_iterator(run + "/tb")) return e.path().string();
  return "";
}

void need_janeausten() {
  REQUIRE(ptm::test::prepare_data("janeausten_bpe8k", "recipes/data/janeausten_bpe.yaml") == "");
}

}  // namespace

TEST_CASE("a gpt_tiny run's TensorBoard events read back as metrics.jsonl, also after a resume",
          "[integration][train][tensorboard]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  need_janeausten();
  ptm::test::TempDir tmp;
  const std::string args =
      " train.max_steps=12 train.log_every=2 train.eval_every=4 train.eval_batches=1 train.save_every=6"
      " train.batch_size=2 data.seq_len=32 train.sample_every=6 train.sample_tokens=8";
  const auto run = [&](const std::string& dir, const std::string& more = "") {
    return run_ptm("pretrain --config recipes/pretrain/gpt_tiny.yaml --run-dir " + tmp.file(dir) + args + more);
  };
  auto r = run("a");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto [rc, out] = golden("tensorboard_reference.py", "check " + tmp.file("a"), tmp);
  INFO(out);
  CHECK(rc == 0);
  // Train and eval scalars, peak memory among them; a sample at steps 6 and 12; the recipe once.
  CHECK(contains(out, "\"samples\": [6, 12]"));
  CHECK(contains(out, "\"recipe\": [0]"));
  CHECK(contains(read_text(tmp.file("a/metrics.jsonl")), "\"peak_memory_bytes\""));

  // Killed after the step-6 checkpoint, the events file torn mid-record: the resumed run keeps
  // steps up to 6 and writes 7-12 once.
  fs::remove_all(tmp.file("a/checkpoints/step_00000012"));
  fs::remove(tmp.file("a/summary.json"));
  const std::string file = events_file(tmp.file("a"));
  ptm::fs_util::append_file(file, ptm::tb::frame_record(ptm::tb::scalar_event(1, 13, "train/loss", 1)).substr(0, 20));
  r = run("a");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("a/log.txt")), "at step 6"));
  CHECK(events_file(tmp.file("a")) == file);
  std::tie(rc, out) = golden("tensorboard_reference.py", "check " + tmp.file("a"), tmp);
  INFO(out);
  CHECK(rc == 0);
  CHECK(contains(out, "\"samples\": [6, 12]"));

  // train.tensorboard=false: no tb/ folder.
  r = run("off", " train.max_steps=2 train.sample_every=0 train.tensorboard=false");
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(tmp.file("off/tb")));
}

TEST_CASE("an image run's TensorBoard events hold its first input images", "[integration][train][tensorboard]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  if (!fs::exists(ptm::test::data_dir() + "/fashion-mnist/train-images-idx3-ubyte"))
    PTM_SKIP("no Fashion-MNIST in data/ (bash scripts/get-data.sh fashion-mnist)");
  ptm::test::TempDir tmp;
  const auto r = run_ptm("finetune --config recipes/finetune/fashion_mnist_resnet18.yaml --run-dir " + tmp.file("run") +
                         " train.max_steps=2 train.batch_size=8 train.log_every=1 train.eval_every=0"
                         " train.eval_batches=1 train.save_every=0");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto [rc, out] = golden("tensorboard_reference.py", "check " + tmp.file("run"), tmp);
  INFO(out);
  CHECK(rc == 0);
  CHECK(contains(out, "\"inputs/0\": [0, 28, 28, \"L\"]"));
  CHECK(contains(out, "\"inputs/3\": [0, 28, 28, \"L\"]"));
}

TEST_CASE("ptm report draws the runs' metrics in a self-contained page and summarises them",
          "[integration][report]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir tmp;
  const std::string recipe = "pretrain --config tests/fixtures/recipes/pretrain_mlp.yaml train.eval_every=5";
  REQUIRE(run_ptm(recipe + " --run-dir " + tmp.file("a")).exit_code == 0);
  REQUIRE(run_ptm(recipe + " --run-dir " + tmp.file("b") + " optimizer.lr=0.03").exit_code == 0);

  auto r = run_ptm("report " + tmp.file("a") + " " + tmp.file("b") + " --out " + tmp.file("report.html"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "report of 2 runs"));
  auto [rc, out] = golden("check_report.py",
                          tmp.file("report.html") + " optimizer.lr " + tmp.file("a") + " " + tmp.file("b"), tmp);
  INFO(out);
  CHECK(rc == 0);
  const std::string page = read_text(tmp.file("report.html"));
  CHECK(contains(page, "<td>torch</td><td>2.11.0</td><td>2.11.0</td>"));  // the environment fingerprint
  r = run_ptm("report " + tmp.file("a") + " --out " + tmp.file("one.html"));
  REQUIRE(r.exit_code == 0);
  std::tie(rc, out) = golden("check_report.py", tmp.file("one.html") + " - " + tmp.file("a"), tmp);
  INFO(out);
  CHECK(rc == 0);

  // Without --out: a terminal summary with the last logged loss.
  r = run_ptm("report " + tmp.file("a") + " " + tmp.file("b"));
  REQUIRE(r.exit_code == 0);
  std::string last;
  std::istringstream metrics(read_text(tmp.file("a/metrics.jsonl")));
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("split")) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.5g", j["loss"].get<double>());
      last = buf;
    }
  }
  CHECK(contains(r.out, "train loss " + last));
  CHECK(contains(r.out, "20 steps"));
  CHECK(contains(r.out, "recipes differ in: optimizer.lr"));

  // Not a run directory, not a benchmark report: one message naming it, exit 2.
  r = run_ptm("report " + tmp.path());
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "'" + tmp.path() + "' is not a run directory: it has no metrics.jsonl"));
  r = run_ptm("report " + tmp.file("a/summary.json"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "'" + tmp.file("a/summary.json") + "' is not a `ptm bench --json` report"));
}

TEST_CASE("ptm report shows a ptm bench report as a table and bar charts", "[integration][report][bench]") {
  ptm::test::TempDir tmp;
  auto r = run_ptm("bench --config recipes/bench/gpt_tiny_cpu.yaml --device cpu --batch 1,2 --seq 32 --warmup 1 "
                   "--iters 2 --json " + tmp.file("b.json"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("report " + tmp.file("b.json") + " --out " + tmp.file("r.html"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "report of 0 runs and 1 benchmark(s)"));
  const auto page = read_text(tmp.file("r.html"));
  const auto bench = nlohmann::json::parse(read_text(tmp.file("b.json")));
  REQUIRE(bench["results"].size() == 2);
  for (const auto& res : bench["results"]) {
    char value[64];
    std::snprintf(value, sizeof(value), "data-value=\"%.9g\"", res["throughput"].get<double>());
    CHECK(contains(page, value));  // its throughput bar
    std::snprintf(value, sizeof(value), "data-value=\"%.9g\"", res["step_ms"]["p50"].get<double>());
    CHECK(contains(page, value));  // its step-time bar
  }
  r = run_ptm("report " + tmp.file("b.json"));
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "ms p50"));  // ptm bench's own table
}

TEST_CASE("a ptm report page renders in headless Chromium with the plotted data and prints whole",
          "[integration][report][browser]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    PTM_SKIP("chromium is not installed (Debian: apt-get install chromium)");
  ptm::test::TempDir tmp;
  const std::string recipe = "pretrain --config tests/fixtures/recipes/pretrain_mlp.yaml train.eval_every=5";
  REQUIRE(run_ptm(recipe + " --run-dir " + tmp.file("a")).exit_code == 0);
  REQUIRE(run_ptm(recipe + " --run-dir " + tmp.file("b") + " train.batch_size=2").exit_code == 0);
  REQUIRE(run_ptm("report " + tmp.file("a") + " " + tmp.file("b") + " --out " + tmp.file("r.html")).exit_code == 0);
  const auto [rc, out] = golden("check_report.py",
                                "--browser " + tmp.file("r.png") + " " + tmp.file("r.html") + " train.batch_size " +
                                    tmp.file("a") + " " + tmp.file("b"),
                                tmp);
  INFO(out);
  CHECK(rc == 0);
  CHECK(contains(out, "\"screenshot\""));
  // Printed (print media at a page's width, then a PDF): every plot and table fits the page.
  const auto [prc, pout] = golden("check_print.py", tmp.file("r.html") + " " + tmp.file("r.pdf"), tmp);
  INFO(pout);
  CHECK(prc == 0);
  CHECK(contains(pout, "\"pages\""));
}
