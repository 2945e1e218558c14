// Messages for bad input through the built binary: each names the file and the key or position,
// and exits 2. Mistyped commands name the nearest command instead of CLI11's generic message.
#include <cstdint>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "ptm/data/shard.h"

using ptm::test::contains;
using ptm::test::run_ptm;

namespace {

// A prepared folder (manifest.json + one train and one val shard) whose manifest says
// `manifest_vocab`; the shards hold `ids`.
std::string write_prepared(const ptm::test::TempDir& d, const std::vector<int32_t>& ids,
                           const std::string& manifest_vocab) {
  for (const char* name : {"prepared/train_000000.bin", "prepared/val_000000.bin"}) {
    d.write(name, "");
    ptm::data::ShardWriter w(d.file(name), 1000);
    w.append(ids);
    w.close();
  }
  d.write("prepared/manifest.json", R"({"tokenizer": {"vocab_size": )" + manifest_vocab + R"(},
    "train": {"tokens": 64, "shards": [{"file": "train_000000.bin"}]},
    "val": {"tokens": 64, "shards": [{"file": "val_000000.bin"}]}})");
  return d.file("prepared");
}

// A seconds-long GPT pretraining recipe (vocabulary 300) on `prepared`.
std::string write_recipe(const ptm::test::TempDir& d, const std::string& prepared) {
  return d.write("recipe.yaml", "run:\n  name: messages\n  device: cpu\n"
                                "model:\n  type: gpt\n  vocab_size: 300\n  n_positions: 32\n  n_embd: 32\n"
                                "  n_layer: 1\n  n_head: 2\n"
                                "data:\n  type: tokens\n  path: " + prepared + "\n  seq_len: 16\n"
                                "train:\n  max_steps: 2\n  batch_size: 2\n  log_every: 1\n"
                                "optimizer:\n  lr: 0.01\n");
}

std::vector<int32_t> ids_with(int64_t position, int32_t id) {
  std::vector<int32_t> ids(64);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i % 300);
  ids[static_cast<size_t>(position)] = id;
  return ids;
}

}  // namespace

TEST_CASE("a mistyped command names the nearest one and exits 2", "[integration][cli][messages]") {
  auto r = run_ptm("pretrian --config tests/fixtures/recipes/good.yaml");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "unknown command 'pretrian' (did you mean 'pretrain'?)"));
  CHECK_FALSE(contains(r.err, "A subcommand is required"));

  // --help after an unknown command is the same error, not the top-level help with exit 0.
  r = run_ptm("pretrian --help");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "unknown command 'pretrian'"));
  CHECK_FALSE(contains(r.out, "Subcommands"));

  // Nothing close: the commands are listed.
  r = run_ptm("frobnicate");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "unknown command 'frobnicate'; commands: "));
  CHECK(contains(r.err, "pretrain"));

  // Commands inside a command group too.
  r = run_ptm("data prepair --config x.yaml");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "unknown command 'prepair' for 'ptm data' (did you mean 'prepare'?)"));

  // Known commands and their help are unchanged.
  CHECK(run_ptm("pretrain --help").exit_code == 0);
  CHECK(run_ptm("data prepare --help").exit_code == 0);
  CHECK(run_ptm("--help").exit_code == 0);
}

TEST_CASE("a shard id outside the vocabulary names the shard and position before training",
          "[integration][messages]") {
  ptm::test::TempDir d;
  const std::string prepared = write_prepared(d, ids_with(37, 450), "300");
  const auto r = run_ptm("pretrain --config " + write_recipe(d, prepared) + " --run-dir " + d.file("run"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "token shard '" + prepared + "/train_000000.bin': the token at position 37 has id 450, "
                        "outside the vocabulary of 300 in '" + prepared + "/manifest.json'"));
  CHECK_FALSE(contains(r.err, "index out of range"));
}

TEST_CASE("a manifest field of the wrong type names the file, the field and the type", "[integration][messages]") {
  ptm::test::TempDir d;
  const std::string prepared = write_prepared(d, ids_with(0, 1), "\"300\"");
  const auto r = run_ptm("pretrain --config " + write_recipe(d, prepared) + " --run-dir " + d.file("run"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, prepared + "/manifest.json: 'tokenizer.vocab_size' has the wrong type (\"300\"), "
                        "expected an integer"));
}
