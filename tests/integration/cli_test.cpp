// The built ptm binary end to end: help, version, info, list, validate, config round trip,
// overrides and sugar flags, exit codes.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"

using ptm::test::contains;
using ptm::test::run_ptm;

namespace {
const std::string kGood = "tests/fixtures/recipes/good.yaml";
}

TEST_CASE("ptm --help lists the subcommands and --version names ptm and torch", "[integration][cli]") {
  auto r = run_ptm("--help");
  CHECK(r.exit_code == 0);
  for (const char* sub : {"info", "list", "validate", "config"}) CHECK(contains(r.out, sub));
  r = run_ptm("--version");
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "ptm 0.1.0"));
  CHECK(contains(r.out, "torch 2.11.0"));
}

TEST_CASE("usage errors exit 2", "[integration][cli]") {
  CHECK(run_ptm("").exit_code == 2);
  CHECK(run_ptm("frobnicate").exit_code == 2);
  CHECK(run_ptm("validate").exit_code == 2);  // --config is required
  const auto r = run_ptm("validate --config " + kGood + " stray");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "unexpected argument 'stray'"));
}

TEST_CASE("ptm info reports torch 2.11.0 and the devices", "[integration][cli]") {
  auto r = run_ptm("info");
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "2.11.0"));
  CHECK(contains(r.out, "cuda"));
  r = run_ptm("info --json");
  REQUIRE(r.exit_code == 0);
  const auto env = nlohmann::json::parse(r.out);
  CHECK(env["torch"]["version"] == "2.11.0");
  CHECK(env["ptm"]["version"] == "0.1.0");
  CHECK(env["cuda"]["device_count"].get<int>() == static_cast<int>(env["cuda"]["devices"].size()));
  CHECK(env["cpu"]["intra_op_threads"].get<int>() >= 1);
}

TEST_CASE("ptm list shows areas and entries and unknown areas are usage errors", "[integration][cli]") {
  auto r = run_ptm("list");
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "schedules:"));
  CHECK(contains(r.out, "sections:"));
  r = run_ptm("list schedules");
  REQUIRE(r.exit_code == 0);
  for (const char* s : {"constant", "linear", "cosine", "wsd", "piecewise"}) CHECK(contains(r.out, s));
  CHECK_FALSE(contains(r.out, "sections:"));
  r = run_ptm("list schedulse");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "did you mean schedules?"));
}

TEST_CASE("ptm validate accepts a good recipe and rejects bad overrides and missing files", "[integration][cli]") {
  auto r = run_ptm("validate --config " + kGood);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "ok: " + kGood + " is valid (run directory: runs/good)"));

  r = run_ptm("validate --config " + kGood + " train.max_steps=abc train.batch_siz=3");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "override 'train.max_steps=abc': train.max_steps: expected an integer, got 'abc'"));
  CHECK(contains(r.err, "override 'train.batch_siz=3': train.batch_siz: unknown key (did you mean batch_size?)"));

  r = run_ptm("validate --config no/such/recipe.yaml");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "no/such/recipe.yaml' not found"));
}

TEST_CASE("ptm config prints the resolved recipe and its output resolves the same", "[integration][cli]") {
  ptm::test::TempDir tmp;
  const auto first = run_ptm("config --config " + kGood + " train.max_steps=42 schedule.final_lr_fraction=0.05");
  REQUIRE(first.exit_code == 0);
  CHECK(contains(first.out, "max_steps: 42"));
  CHECK(contains(first.out, "type: cosine"));             // from the base fragment
  CHECK(contains(first.out, "warmup_fraction: 0.1"));     // recipe over fragment
  CHECK(contains(first.out, "final_lr_fraction: 0.05"));  // override over both
  CHECK(contains(first.out, "grad_accum_steps: 1"));      // defaults filled in
  const std::string dumped = tmp.write("resolved.yaml", first.out);
  const auto second = run_ptm("config --config " + dumped);
  REQUIRE(second.exit_code == 0);
  CHECK(second.out == first.out);
}

TEST_CASE("sugar flags win over overrides and a tilde deletes", "[integration][cli]") {
  const auto r = run_ptm("config --config " + kGood +
                         " run.seed=1 --seed 5 --device cpu --run-dir /tmp/x --log-level warn ~train.batch_size");
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "seed: 5"));
  CHECK(contains(r.out, "device: cpu"));
  CHECK(contains(r.out, "dir: /tmp/x"));
  CHECK(contains(r.out, "log_level: warn"));
  CHECK(contains(r.out, "batch_size: 8"));  // deleted from the recipe -> back to the default
  const auto bad = run_ptm("config --config " + kGood + " --device tpu");
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "flag --device: run.device: 'tpu' is not a device"));
}

TEST_CASE("every shipped recipe validates", "[integration][cli]") {
  // Recipes name data under data/ (scripts/get-data.sh); validation checks keys, types, ranges
  // and paths, so a renamed option or a typo in any recipe fails here. Accepted, with the skip
  // stated: a path that is the output of an earlier stage not run in this checkout, a run
  // under runs/ or a folder a shipped `recipes/data` recipe prepares (validation still reports
  // every other problem, so nothing else may be wrong).
  const std::string root = ptm::test::source_dir();
  std::vector<std::string> stage_outputs = {"'runs/"};
  for (const auto& entry : std::filesystem::directory_iterator(root + "/recipes/data")) {
    std::istringstream lines(ptm::test::read_text(entry.path().string()));
    for (std::string line; std::getline(lines, line);)
      if (const auto pos = line.find(" out: "); pos != std::string::npos && line.find('#') > pos)
        stage_outputs.push_back("'" + line.substr(pos + 6) + "'");
  }
  REQUIRE(stage_outputs.size() >= 3);
  const auto missing_stage_output = [&](const std::string& err) {
    std::istringstream lines(err);
    std::string what;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || (contains(line, "ptm: error: ") && contains(line, " problems:"))) continue;
      const auto it = std::find_if(stage_outputs.begin(), stage_outputs.end(),
                                   [&](const std::string& out) { return contains(line, out); });
      if (it == stage_outputs.end()) return std::string();
      const auto start = line.find(*it) + 1;  // the quoted path the message names
      what += (what.empty() ? "" : ", ") + line.substr(start, line.find('\'', start) - start);
    }
    return what;
  };
  size_t checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root + "/recipes")) {
    if (entry.path().extension() != ".yaml") continue;
    const auto relative = std::filesystem::relative(entry.path(), root).string();
    CAPTURE(relative);
    const auto r = run_ptm("validate --config " + relative);
    CAPTURE(r.err);
    if (r.exit_code == 2) {
      if (const auto what = missing_stage_output(r.err); !what.empty()) {
        ptm::test::record_skip("every shipped recipe validates",
                               relative + ": only checked up to its input " + what + ", an earlier stage not run here");
        continue;
      }
    }
    CHECK(r.exit_code == 0);
    ++checked;
  }
  CHECK(checked >= 15);
}
