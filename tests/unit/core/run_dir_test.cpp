// Run directory contract: fixed files, refusal to clobber, overwrite, resume, atomic writes.
#include <filesystem>
#include <sstream>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/core/metrics.h"
#include "ptm/core/run_dir.h"

namespace fs = std::filesystem;
using ptm::RunDir;
using ptm::test::read_text;

TEST_CASE("a run directory holds config cmdline log metrics and summary", "[unit][core]") {
  ptm::test::TempDir tmp;
  const auto run = RunDir::open(tmp.file("runs/demo"), RunDir::Mode::Fresh);
  run.write_config("train:\n  max_steps: 5\n");
  run.write_cmdline({"ptm", "pretrain", "--config", "a b.yaml", "train.lr=1e-4"}, {{"torch", "2.11.0"}});
  run.attach_log();
  ptm::log::info("hello from the test");
  ptm::log::close_files();
  {
    ptm::MetricsWriter m(run.file("metrics.jsonl"));
    m.write({{"step", 1}, {"loss", 2.5}});
    m.write({{"step", 2}, {"loss", 2.25}});
  }
  run.write_summary({{"final_loss", 2.25}});

  CHECK(read_text(run.file("config.yaml")) == "train:\n  max_steps: 5\n");
  CHECK(read_text(run.file("cmdline.txt")) == "ptm pretrain --config 'a b.yaml' train.lr=1e-4\ntorch: 2.11.0\n");
  CHECK(read_text(run.file("log.txt")).find("hello from the test") != std::string::npos);
  CHECK(read_text(run.file("metrics.jsonl")) == "{\"loss\":2.5,\"step\":1}\n{\"loss\":2.25,\"step\":2}\n");
  CHECK(nlohmann::json::parse(read_text(run.file("summary.json")))["final_loss"] == 2.25);
  CHECK(RunDir::holds_finished_run(run.path()));
}

TEST_CASE("log.txt of a resumed run drops the lines from the first step after the checkpoint on", "[unit][core]") {
  ptm::test::TempDir tmp;
  const auto run = RunDir::open(tmp.file("run"), RunDir::Mode::Fresh);
  // Written through the logger, so the lines carry its real prefix.
  run.attach_log();
  ptm::log::info("data: synthetic");
  ptm::log::info("step 5/20  loss 4.1");
  ptm::log::info("eval step 5: {\"loss\":4.0}");
  ptm::log::info("checkpoint runs/x/checkpoints/step_00000005");
  ptm::log::info("sample at step 5: a sample\nover two lines");
  ptm::log::warn("skipped 1 step(s) with a non-finite loss or gradient up to step 10 (1 in all)");
  ptm::log::info("step 10/20  loss 3.9");
  ptm::log::info("checkpoint runs/x/checkpoints/step_00000010");
  ptm::log::info("step 15/20  loss 3.8");
  ptm::log::close_files();
  const std::string path = run.file("log.txt");
  std::vector<int64_t> steps;
  std::istringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) steps.push_back(ptm::log_line_step(line));
  CHECK(steps == std::vector<int64_t>{-1, 5, 5, -1, 5, -1, 10, 10, -1, 15});

  ptm::truncate_log_after_step(path, 10);
  auto text = read_text(path);
  CHECK(ptm::test::contains(text, "checkpoint runs/x/checkpoints/step_00000010\n"));
  CHECK_FALSE(ptm::test::contains(text, "step 15/20"));
  // The checkpoint of step 5: the warning about step 10 goes with the steps run again.
  ptm::truncate_log_after_step(path, 5);
  text = read_text(path);
  CHECK(ptm::test::contains(text, "over two lines\n"));
  CHECK_FALSE(ptm::test::contains(text, "skipped"));
  CHECK_FALSE(ptm::test::contains(text, "step 10/20"));
  // No checkpoint: the run starts over, after the lines it wrote before its first step.
  ptm::fs_util::append_file(path, "[2026-01-01 00:00:00.000] [info] step 6/2");  // torn by a kill
  ptm::truncate_log_after_step(path, 0);
  text = read_text(path);
  CHECK(ptm::test::contains(text, "data: synthetic\n"));
  CHECK_FALSE(ptm::test::contains(text, "step 5/20"));
}

TEST_CASE("a finished run is never replaced without overwrite", "[unit][core]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  RunDir::open(dir, RunDir::Mode::Fresh).write_summary({{"ok", true}});
  CHECK_THROWS_AS(RunDir::open(dir, RunDir::Mode::Fresh), ptm::ConfigError);
  CHECK_THROWS_AS(RunDir::open(dir, RunDir::Mode::Resume), ptm::ConfigError);
  CHECK(fs::exists(dir + "/summary.json"));  // refusal touched nothing

  RunDir::open(dir, RunDir::Mode::Overwrite);
  CHECK_FALSE(fs::exists(dir + "/summary.json"));
}

TEST_CASE("an unfinished run can be resumed but not silently restarted", "[unit][core]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  RunDir::open(dir, RunDir::Mode::Fresh).write_config("a: 1\n");
  CHECK_THROWS_AS(RunDir::open(dir, RunDir::Mode::Fresh), ptm::ConfigError);
  const auto resumed = RunDir::open(dir, RunDir::Mode::Resume);
  CHECK(resumed.resumed());
  CHECK(read_text(dir + "/config.yaml") == "a: 1\n");
}

TEST_CASE("a failed atomic write leaves the previous file intact", "[unit][core]") {
  ptm::test::TempDir tmp;
  const std::string path = tmp.file("state.json");
  ptm::fs_util::write_file_atomic(path, "old");
  CHECK_THROWS_AS(ptm::fs_util::write_file_atomic(tmp.file("missing/dir/state.json"), "x"), ptm::IoError);
  // A directory in the way of the rename: the write fails, the old file stays.
  fs::create_directories(tmp.file("blocked"));
  fs::create_directories(tmp.file("blocked/inner"));
  CHECK_THROWS_AS(ptm::fs_util::write_file_atomic(tmp.file("blocked"), "new"), ptm::IoError);
  CHECK(read_text(path) == "old");
  for (const auto& e : fs::directory_iterator(tmp.path()))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);  // no temp files left
}

TEST_CASE("shell_quote keeps plain words and quotes the rest", "[unit][core]") {
  CHECK(ptm::shell_quote("train.lr=1e-4") == "train.lr=1e-4");
  CHECK(ptm::shell_quote("a b") == "'a b'");
  CHECK(ptm::shell_quote("it's") == "'it'\"'\"'s'");
  CHECK(ptm::shell_quote("") == "''");
}
