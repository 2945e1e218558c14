// Run directory contract: fixed files, refusal to clobber, overwrite, resume, atomic writes.
#include <filesystem>

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
