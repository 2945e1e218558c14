// Checkpoint folders: checksums in DONE and the newest intact one chosen, leftovers of killed
// saves removed, foreign folders ignored, a failed write (disk full) leaving the previous
// checkpoint intact, random states of CUDA devices that are not there.
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/models/mlp.h"
#include "ptm/optim/optimizer.h"
#include "ptm/train/checkpoint.h"

namespace fs = std::filesystem;
using namespace ptm;

namespace {

struct Parts {
  std::shared_ptr<models::MlpImpl> model;
  std::unique_ptr<optim::Optimizer> optimizer;
};

Parts tiny_parts() {
  torch::manual_seed(5);
  models::MlpOptions o;
  o.vocab_size = 40;
  o.hidden = 16;
  o.layers = 1;
  o.num_classes = 40;
  o.lm = true;
  Parts p;
  p.model = std::make_shared<models::MlpImpl>(o);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& kv : p.model->named_parameters()) named.emplace_back(kv.key(), kv.value());
  p.optimizer = std::make_unique<optim::Optimizer>(named, optim::OptimizerConfig{});
  return p;
}

std::string save(const std::string& run, int64_t step, Parts& p) {
  return train::save_checkpoint(run, step, *p.model, *p.optimizer, nlohmann::json{{"step", step}});
}

void flip_byte(const std::string& path, size_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x5a));
}

}  // namespace

TEST_CASE("DONE records checksums and a damaged newest checkpoint is passed over", "[unit][train][checkpoint]") {
  test::TempDir d;
  auto p = tiny_parts();
  const auto first = save(d.path(), 10, p);
  const auto second = save(d.path(), 20, p);
  const auto done = nlohmann::json::parse(test::read_text(second + "/DONE"));
  for (const char* f : {"model.safetensors", "optimizer.safetensors", "trainer_state.json"}) {
    CAPTURE(f);
    REQUIRE(done["files"].contains(f));
    CHECK(done["files"][f]["bytes"] == fs::file_size(second + "/" + f));
    CHECK(done["files"][f]["sha256"] == sha256_file(second + "/" + f));
  }
  CHECK(train::verify_checkpoint(second).empty());
  CHECK(train::latest_checkpoint(d.path(), true) == second);

  SECTION("altered after it was written") {
    flip_byte(second + "/model.safetensors", fs::file_size(second + "/model.safetensors") - 3);
    CHECK(test::contains(train::verify_checkpoint(second), "model.safetensors does not match its SHA-256"));
  }
  SECTION("truncated") {
    fs::resize_file(second + "/optimizer.safetensors", 100);
    CHECK(test::contains(train::verify_checkpoint(second), "optimizer.safetensors has 100 bytes"));
  }
  SECTION("a file missing") {
    fs::remove(second + "/trainer_state.json");
    CHECK(test::contains(train::verify_checkpoint(second), "trainer_state.json is missing"));
  }
  CHECK(train::latest_checkpoint(d.path(), true) == first);
  CHECK(train::latest_checkpoint(d.path()) == second);  // unverified: the newest complete one
}

TEST_CASE("foreign folders in checkpoints/ are ignored and leftovers of killed saves removed",
          "[unit][train][checkpoint]") {
  test::TempDir d;
  auto p = tiny_parts();
  const auto good = save(d.path(), 7, p);
  for (const char* foreign : {"step_abc", "step_", "step_12x", "step_00000099.old", "notes"}) {
    fs::create_directories(d.file(std::string("checkpoints/") + foreign));
    std::ofstream(d.file(std::string("checkpoints/") + foreign + "/DONE"));
  }
  CHECK(train::latest_checkpoint(d.path()) == good);
  // What a save killed midway leaves: a temporary folder and link.
  fs::create_directories(d.file("checkpoints/step_00000008.tmp-99999"));
  std::ofstream(d.file("checkpoints/step_00000008.tmp-99999/model.safetensors")) << "partial";
  fs::create_directory_symlink("step_00000007", d.file("checkpoints/latest.tmp-99999"));
  save(d.path(), 9, p);
  CHECK_FALSE(fs::exists(d.file("checkpoints/step_00000008.tmp-99999")));
  CHECK_FALSE(fs::is_symlink(d.file("checkpoints/latest.tmp-99999")));
  CHECK(fs::exists(d.file("checkpoints/notes")));  // not ours: left alone
  CHECK(fs::read_symlink(d.file("checkpoints/latest")) == "step_00000009");
}

TEST_CASE("a save that cannot write (disk full) leaves the previous checkpoint intact", "[unit][train][checkpoint]") {
  test::TempDir d;
  auto p = tiny_parts();
  const auto good = save(d.path(), 1, p);
  // A file size limit makes writes fail as a full disk does (EFBIG instead of ENOSPC).
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGXFSZ, &ignore, &old);
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  rlimit small = saved;
  small.rlim_cur = 1000;
  ::setrlimit(RLIMIT_FSIZE, &small);
  const auto message = test::error_of([&] { save(d.path(), 2, p); });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::sigaction(SIGXFSZ, &old, nullptr);
  CHECK(test::contains(message, "cannot write"));
  CHECK(test::contains(message, "model.safetensors"));
  CHECK_FALSE(fs::exists(d.file("checkpoints/step_00000002")));
  for (const auto& e : fs::directory_iterator(d.file("checkpoints")))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  CHECK(fs::read_symlink(d.file("checkpoints/latest")) == "step_00000001");
  CHECK(train::latest_checkpoint(d.path(), true) == good);
}

TEST_CASE("random states restore on a machine with fewer CUDA devices than the checkpoint saw",
          "[unit][train][checkpoint]") {
  torch::manual_seed(11);
  auto state = train::rng_state();
  const auto expected = torch::rand({4});
  // A requeue onto a smaller node: more CUDA states than devices here (none on CPU machines).
  const std::string some_state(32, '0');
  for (int i = 0; i < 16; ++i) state["cuda"].push_back(some_state);
  torch::manual_seed(99);
  REQUIRE_NOTHROW(train::set_rng_state(state));
  CHECK(torch::equal(torch::rand({4}), expected));
}

TEST_CASE("AtomicFile streams, hashes and replaces a file only on commit", "[unit][core]") {
  test::TempDir d;
  const auto path = d.write("f.txt", "old");
  {
    fs_util::AtomicFile f(path);
    f.write("new ");
    f.write("content");
  }  // not committed
  CHECK(test::read_text(path) == "old");
  fs_util::AtomicFile f(path);
  f.write("new ");
  f.write("content");
  CHECK(f.commit() == sha256_hex("new content"));
  CHECK(test::read_text(path) == "new content");
  CHECK(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator()) == 1);
}
