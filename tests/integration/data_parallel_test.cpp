// Data-parallel training with real Gloo process groups on the CPU (2 and 3 ranks): the final
// weights equal one process's run with the same global batch, accumulation equals a bigger
// batch, resume works at the same world size and is refused at another, and a lost rank, a
// stop signal or an unreachable master end the run instead of hanging it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/dist/launcher.h"
#include "ptm/models/safetensors.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

// A short causal-LM run of the tiny GPT on Jane Austen (no dropout).
std::string gpt_run(const std::string& dir, int batch, const std::string& extra = "") {
  return "pretrain --config recipes/pretrain/gpt_tiny.yaml --run-dir " + dir +
         " data.seq_len=64 train.max_steps=6 train.log_every=2 train.eval_every=0 train.save_every=0"
         " train.eval_batches=1000 train.batch_size=" + std::to_string(batch) + " " + extra;
}

// Weights are compared after SGD steps: AdamW divides each gradient element by its own
// magnitude, so elements whose exact gradient is zero (the attention key bias) turn float
// noise of either summation order into steps of the full learning rate, in any two runs that
// add in different orders (PyTorch's DDP against one process too). SGD keeps the noise as
// small as it is.
const std::string kSgd = "optimizer.type=sgd optimizer.lr=0.3 ";

void need_janeausten() {
  REQUIRE(ptm::test::prepare_data("janeausten_bpe8k", "recipes/data/janeausten_bpe.yaml") == "");
}

std::string final_weights(const std::string& run) {
  const auto dirs = run + "/checkpoints";
  std::string last;
  for (const auto& e : fs::directory_iterator(dirs))
    if (e.path().filename().string().rfind("step_", 0) == 0 && e.path().string() > last) last = e.path().string();
  return last + "/model.safetensors";
}

// max |a - b| / max |a| over every tensor of two weight files.
double relative_difference(const std::string& a_file, const std::string& b_file) {
  const auto a = ptm::models::load_safetensors(a_file), b = ptm::models::load_safetensors(b_file);
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (const auto& [name, ta] : a) {
    const auto it = std::find_if(b.begin(), b.end(), [&](const auto& p) { return p.first == name; });
    REQUIRE(it != b.end());
    diff = std::max(diff, (ta - it->second).abs().max().item<double>());
    scale = std::max(scale, ta.abs().max().item<double>());
  }
  return diff / scale;
}

nlohmann::json summary_of(const std::string& run) { return nlohmann::json::parse(read_text(run + "/summary.json")); }

struct Shell {
  int exit_code;
  std::string output;
};

// Runs a bash script from the source tree; stdout and stderr together.
Shell run_shell(const std::string& script) {
  ptm::test::TempDir io;
  const auto file = io.write("script.sh", "cd '" + std::string(ptm::test::source_dir()) + "'\n" + script);
  const int status = std::system(("bash '" + file + "' >'" + io.file("out") + "' 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_text(io.file("out"))};
}

std::string ptm_exe() { return std::string("'") + ptm::test::ptm_binary() + "'"; }

// The environment of rank `rank` of `world`, as a launcher would set it.
std::string rank_env(int rank, int world, int port) {
  return "RANK=" + std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) + " WORLD_SIZE=" +
         std::to_string(world) + " LOCAL_WORLD_SIZE=" + std::to_string(world) + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
         std::to_string(port);
}

// Two ranks started by hand (no launcher to clean up after them); once training runs, `signal`
// goes to rank `victim` and the other rank's exit code and seconds to stop are printed.
Shell stop_one_rank(const std::string& run_dir, int victim, const std::string& signal, int timeout_s) {
  const int port = ptm::dist::free_port();
  const auto run = gpt_run(run_dir, 4, "train.max_steps=100000 train.log_every=1 run.dist_timeout_s=" +
                                           std::to_string(timeout_s));
  const int survivor = 1 - victim;
  return run_shell(rank_env(0, 2, port) + " " + ptm_exe() + " " + run + " & p0=$!\n" + rank_env(1, 2, port) + " " +
                   ptm_exe() + " " + run + " & p1=$!\n" + "for i in $(seq 600); do [ -s '" + run_dir +
                   "/metrics.jsonl' ] && break; sleep 0.1; done\n" + "kill -" + signal + " $p" +
                   std::to_string(victim) + "; start=$(date +%s)\nwait $p" + std::to_string(survivor) +
                   "; e=$?; echo \"survivor exit $e after $(( $(date +%s) - start )) s\"\n" + "kill -9 $p" +
                   std::to_string(victim) + " 2>/dev/null; wait\n");
}

int seconds_after(const std::string& output) {
  const auto at = output.find(" after ");
  return at == std::string::npos ? 1 << 20 : std::stoi(output.substr(at + 7));
}

}  // namespace

TEST_CASE("2 and 3 Gloo ranks train the causal LM to one process's weights with the same global batch",
          "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  auto r = run_ptm(gpt_run(tmp.file("one"), 12, kSgd));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (int world : {2, 3}) {
    const auto dir = tmp.file("dp" + std::to_string(world));
    r = run_ptm("launch --nproc " + std::to_string(world) + " -- " + gpt_run(dir, 12 / world, kSgd));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(contains(read_text(dir + "/log.txt"), " ranks = 12,"));  // the global batch, stated
    const double rel = relative_difference(final_weights(tmp.file("one")), final_weights(dir));
    INFO("world " << world << ": relative difference " << rel);
    CHECK(rel < 1e-6);
    // The logged loss and the evaluation are the whole run's, not rank 0's share.
    const auto one = summary_of(tmp.file("one")), dp = summary_of(dir);
    CHECK(dp["train_loss"].get<double>() == Approx(one["train_loss"].get<double>()).epsilon(1e-5));
    CHECK(dp["eval"]["loss"].get<double>() == Approx(one["eval"]["loss"].get<double>()).epsilon(1e-5));
    CHECK(dp["eval"]["targets"] == one["eval"]["targets"]);
    CHECK(dp["tokens"] == one["tokens"]);
  }
}

TEST_CASE("gradient accumulation across 2 ranks equals one process's bigger batch", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  auto r = run_ptm(gpt_run(tmp.file("one"), 8, kSgd));
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("acc"), 2, kSgd + "train.grad_accum_steps=2"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(relative_difference(final_weights(tmp.file("one")), final_weights(tmp.file("acc"))) < 1e-6);
}

TEST_CASE("gradient noise on 2 ranks gives one process's weights", "[integration][dist]") {
  // The noise comes from (seed, step) alone: every rank adds the same noise to the reduced
  // gradients, as one process does to its own.
  need_janeausten();
  ptm::test::TempDir tmp;
  const std::string noisy = kSgd + "train.max_steps=3 train.eval_batches=2 train.grad_noise_eta=0.0001 ";
  auto r = run_ptm(gpt_run(tmp.file("one"), 8, noisy));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("dp"), 4, noisy));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(relative_difference(final_weights(tmp.file("one")), final_weights(tmp.file("dp"))) < 1e-6);
  r = run_ptm(gpt_run(tmp.file("quiet"), 8, kSgd + "train.max_steps=3 train.eval_batches=2"));
  REQUIRE(r.exit_code == 0);
  CHECK(relative_difference(final_weights(tmp.file("one")), final_weights(tmp.file("quiet"))) > 1e-4);
}

TEST_CASE("gradients reduced in bf16 stay near the fp32 reduction and differ from it", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  auto r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("fp32"), 4, kSgd));
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("bf16"), 4, kSgd + "train.ddp_reduce_dtype=bf16"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("bf16/log.txt")), "gradients all-reduced in bf16"));
  // bf16 keeps 8 bits of mantissa: the steps differ at about 2^-9 of their size.
  const double rel = relative_difference(final_weights(tmp.file("fp32")), final_weights(tmp.file("bf16")));
  CHECK(rel > 1e-6);
  CHECK(rel < 1e-2);
}

TEST_CASE("a classifier's 3 ranks give one process's weights and predictions in the split's order",
          "[integration][dist]") {
  // The compact BERT on the fine-food reviews, dropout off: 3600 training reviews, 400 held out.
  const std::string recipe =
      std::string("finetune --config recipes/finetune/bert_l2_sentiment.yaml train.max_steps=4 train.log_every=2 "
      "train.eval_every=0 train.save_every=0 model.hidden_dropout_prob=0 model.attention_probs_dropout_prob=0 "
      "model.classifier_dropout=0 ") + kSgd;
  ptm::test::TempDir tmp;
  auto r = run_ptm(recipe + "train.batch_size=12 --run-dir " + tmp.file("one"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 3 -- " + recipe + "train.batch_size=4 --run-dir " + tmp.file("dp"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(relative_difference(final_weights(tmp.file("one")), final_weights(tmp.file("dp"))) < 1e-6);
  const auto one = summary_of(tmp.file("one")), dp = summary_of(tmp.file("dp"));
  CHECK(dp["eval"]["accuracy"] == one["eval"]["accuracy"]);
  CHECK(dp["eval"]["targets"].get<double>() == 400);
  // predictions.jsonl: the same 400 reviews in the same order.
  std::istringstream a(read_text(tmp.file("one/predictions.jsonl"))), b(read_text(tmp.file("dp/predictions.jsonl")));
  int rows = 0;
  for (std::string la, lb; std::getline(a, la) && std::getline(b, lb); ++rows) {
    const auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    CHECK(ja["label"] == jb["label"]);
    CHECK(ja["prediction"] == jb["prediction"]);
  }
  CHECK(rows == 400);
}

TEST_CASE("BatchNorm's running statistics follow rank 0's: 2 ranks evaluate as rank 0's checkpoint does",
          "[integration][dist]") {
  if (!fs::exists(ptm::test::data_dir() + "/fashion-mnist/.complete")) PTM_SKIP("no Fashion-MNIST (scripts/get-data.sh)");
  // Each rank's forward updates its running statistics from its own batch. As torch DDP's
  // broadcast_buffers does (rank 0's buffers broadcast before a forward: distributed.py's
  // _sync_buffers), every rank evaluates with rank 0's statistics, which are the checkpoint's.
  // Without the broadcast rank 1 evaluated its half of the images with its own (measured: the
  // losses differed by 5.7e-4 relative).
  ptm::test::TempDir tmp;
  auto r = run_ptm("launch --nproc 2 -- finetune --config recipes/finetune/fashion_mnist_resnet18.yaml "
                   "train.max_steps=8 train.batch_size=8 train.log_every=4 train.eval_every=0 train.save_every=0 "
                   "train.eval_batches=4 data.val_fraction=0.01 --run-dir " + tmp.file("dp"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // One process evaluates the final checkpoint on the same 32 images (4 batches of 8).
  r = run_ptm("eval --from " + tmp.file("dp") + " --batches 4 --device cpu");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto one = nlohmann::json::parse(r.out), dp = summary_of(tmp.file("dp"))["eval"];
  CHECK(dp["targets"] == one["targets"]);
  CHECK(dp["loss"].get<double>() == Approx(one["loss"].get<double>()).epsilon(1e-5));
  CHECK(dp["accuracy"] == one["accuracy"]);
}

TEST_CASE("a data-parallel run resumes at the same world size and refuses another", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  const std::string extra = "train.max_steps=8 train.save_every=4 train.keep_last=0";
  auto r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("whole"), 4, extra));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("cut"), 4, extra));
  REQUIRE(r.exit_code == 0);
  // Killed after its step-4 checkpoint.
  fs::remove_all(tmp.file("cut/checkpoints/step_00000008"));
  fs::remove(tmp.file("cut/summary.json"));
  const auto state = nlohmann::json::parse(read_text(tmp.file("cut/checkpoints/step_00000004/trainer_state.json")));
  CHECK(state["world"] == 2);
  CHECK(state["ranks"].size() == 2);
  // Another world size: refused before anything changes.
  r = run_ptm("launch --nproc 3 -- " + gpt_run(tmp.file("cut"), 4, extra));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "written by 2 rank(s) and this run has 3"));
  r = run_ptm(gpt_run(tmp.file("cut"), 4, extra));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "written by 2 rank(s) and this run has 1"));
  r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("cut"), 4, extra));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("cut/log.txt")), "resuming"));
  CHECK(relative_difference(final_weights(tmp.file("whole")), final_weights(tmp.file("cut"))) == 0);
}

TEST_CASE("ranks with different recipes stop with exit 2 naming the key", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  const int port = ptm::dist::free_port();
  const auto s = run_shell(rank_env(0, 2, port) + " " + ptm_exe() + " " + gpt_run(tmp.file("a"), 4) + " & p0=$!\n" +
                           rank_env(1, 2, port) + " " + ptm_exe() + " " + gpt_run(tmp.file("a"), 4, "optimizer.lr=0.01") +
                           " & p1=$!\nwait $p0; e0=$?; wait $p1; e1=$?; echo \"exit $e0 $e1\"\n");
  INFO(s.output);
  CHECK(contains(s.output, "exit 2 2"));
  CHECK(contains(s.output, "optimizer.lr"));
}

TEST_CASE("a rank killed with SIGKILL stops the others within 60 s with a message naming it", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  // Rank 1 killed: Gloo's connection resets at once, and rank 0's heartbeat check names rank 1.
  auto s = stop_one_rank(tmp.file("a"), 1, "9", 300);
  INFO(s.output);
  CHECK(contains(s.output, "survivor exit 1 after"));
  CHECK(seconds_after(s.output) < 60);
  CHECK(contains(s.output, "rank 0 of 2 stopped: rank 1 of 2 was lost: its heartbeat stood still"));
  // Rank 0 killed: the store it served goes with it, which names it too.
  s = stop_one_rank(tmp.file("b"), 0, "9", 300);
  INFO(s.output);
  CHECK(contains(s.output, "survivor exit 1 after"));
  CHECK(seconds_after(s.output) < 60);
  CHECK(contains(s.output, "rank 1 of 2 stopped: rank 0 of 2 was lost or stopped: the store at 127.0.0.1:"));
}

TEST_CASE("a frozen rank (no connection reset) is named and stops the others before the collective timeout",
          "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  // SIGSTOP: rank 1's sockets stay open, as with a node that vanished. Its heartbeat stands
  // still; rank 0's watchdog (half of run.dist_timeout_s) ends the run before the collective
  // it waits in would time out (40 s): 20 s of silence and 5 s for the main thread.
  const auto s = stop_one_rank(tmp.file("a"), 1, "STOP", 40);
  INFO(s.output);
  CHECK(contains(s.output, "survivor exit 1 after"));
  CHECK(seconds_after(s.output) < 40);
  CHECK(contains(s.output, "rank 0 of 2 stopped: rank 1 of 2 was lost: its heartbeat stood still for 2"));
}

TEST_CASE("ptm launch names the rank that died and stops the rest", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  const auto run = gpt_run(tmp.file("a"), 4, "train.max_steps=100000 train.log_every=1");
  const auto s = run_shell(ptm_exe() + " launch --nproc 2 -- " + run + " 2>" + tmp.file("err") + " & pl=$!\n" +
                           "for i in $(seq 600); do [ -s '" + tmp.file("a/metrics.jsonl") + "' ] && break; sleep 0.1; done\n" +
                           "kill -9 $(grep -o 'rank 1 pid [0-9]*' '" + tmp.file("err") + "' | cut -d' ' -f4)\n" +
                           "wait $pl; echo \"launch exit $?\"\n");
  INFO(s.output << read_text(tmp.file("err")));
  CHECK(contains(s.output, "launch exit 137"));
  CHECK(contains(read_text(tmp.file("err")), "rank 1 (pid"));
  CHECK(contains(read_text(tmp.file("err")), "was killed by signal 9"));
}

TEST_CASE("SIGTERM to every rank saves one checkpoint, exits 143, and the job resumes", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  const auto run = gpt_run(tmp.file("a"), 4, "train.max_steps=40 train.log_every=1");
  // As Slurm preempts: the launcher gets SIGTERM and hands it to every rank.
  const auto s = run_shell(ptm_exe() + " launch --nproc 2 -- " + run + " & pl=$!\n" + "for i in $(seq 600); do [ -s '" +
                           tmp.file("a/metrics.jsonl") + "' ] && break; sleep 0.1; done\n" +
                           "kill -TERM $pl; wait $pl; echo \"launch exit $?\"\n");
  INFO(s.output);
  CHECK(contains(s.output, "launch exit 143"));
  CHECK(!fs::exists(tmp.file("a/summary.json")));
  int checkpoints = 0;
  for (const auto& e : fs::directory_iterator(tmp.file("a/checkpoints")))
    checkpoints += e.path().filename().string().rfind("step_", 0) == 0;
  CHECK(checkpoints == 1);
  const auto r = run_ptm("launch --nproc 2 -- " + run);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(summary_of(tmp.file("a"))["steps"] == 40);
}

TEST_CASE("a rank that cannot reach the master stops with a message after the timeout", "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  const int port = ptm::dist::free_port();  // nobody serves it
  const auto s = run_shell(rank_env(1, 2, port) + " " + ptm_exe() + " " + gpt_run(tmp.file("a"), 4, "run.dist_timeout_s=3") +
                           "; echo \"exit $?\"\n");
  INFO(s.output);
  CHECK(contains(s.output, "exit 1"));
  CHECK(contains(s.output, "could not reach the rendezvous store at 127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("torchrun starts the ranks through its agent's store and reports ptm's error as the root cause",
          "[integration][dist]") {
  if (std::string(ptm::test::python_exe()).empty()) PTM_SKIP("no Python with torch (torchrun) in this build");
  need_janeausten();
  ptm::test::TempDir tmp;
  const std::string torchrun = std::string("'") + ptm::test::python_exe() +
                               "' -m torch.distributed.run --nproc-per-node 2 --master-port " +
                               std::to_string(ptm::dist::free_port()) + " --no-python " + ptm_exe() + " ";
  auto s = run_shell(torchrun + gpt_run(tmp.file("a"), 4) + "; echo \"exit $?\"\n");
  INFO(s.output);
  CHECK(contains(s.output, "exit 0"));
  CHECK(contains(s.output, "torchrun: rank 0 of 2, local rank 0 of 2"));
  CHECK(contains(s.output, "(torchrun agent store)"));
  // Every rank fails on the recipe: torchrun prints ptm's message from TORCHELASTIC_ERROR_FILE.
  s = run_shell(torchrun + gpt_run(tmp.file("b"), 4, "data.path=data/prepared/nope") + "; echo \"exit $?\"\n");
  INFO(s.output);
  CHECK(contains(s.output, "Root Cause"));
  CHECK(contains(s.output, "traceback : ptm: "));
  CHECK(contains(s.output, "data/prepared/nope"));
}

TEST_CASE("ptm bench under ptm launch times the data-parallel step and the gradient all-reduce",
          "[integration][dist]") {
  const auto r = run_ptm("launch --nproc 2 -- bench --config recipes/bench/gpt_tiny_cpu.yaml --warmup 1 --iters 3 "
                         "--seq 64 --json -");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto report = nlohmann::json::parse(r.out);  // rank 0 alone prints
  const auto& result = report["results"][0];
  CHECK(result["ranks"] == 2);
  CHECK(result["comm_ms"].get<double>() > 0);
  CHECK(result["tokens_per_s"].get<double>() > 0);
  CHECK(result["status"] == "ok");
}

TEST_CASE("LoRA fine-tuning of MiniLM on 2 ranks gives one process's adapter", "[integration][dist][peft]") {
  if (!fs::exists(ptm::test::data_dir() + "/models/minilm/model.safetensors")) PTM_SKIP("no MiniLM (scripts/get-data.sh)");
  // Frozen base weights take no part in the reduction: only the adapters and the head.
  const std::string recipe = std::string("finetune --config recipes/finetune/minilm_sentiment_lora.yaml ") +
                             "train.max_steps=3 train.log_every=1 train.eval_every=0 train.save_every=0 "
                             "train.eval_batches=2 peft.dropout=0 model.hidden_dropout_prob=0 "
                             "model.attention_probs_dropout_prob=0 data.max_length=64 ~data.test " + kSgd;
  ptm::test::TempDir tmp;
  auto r = run_ptm(recipe + "train.batch_size=8 --run-dir " + tmp.file("one"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + recipe + "train.batch_size=4 --run-dir " + tmp.file("dp"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(relative_difference(tmp.file("one/adapter/adapter_model.safetensors"),
                            tmp.file("dp/adapter/adapter_model.safetensors")) < 1e-6);
  CHECK(fs::exists(tmp.file("dp/adapter/adapter_config.json")));
}

TEST_CASE("ranks started with srun's environment find each other through the job's first node",
          "[integration][dist]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  // The port comes from the job id (15000 + id mod 20000): pick an id whose port is free now.
  int port = 0;
  for (int tries = 0; tries < 50 && (port < 15000 || port >= 35000); ++tries) port = ptm::dist::free_port();
  if (port < 15000 || port >= 35000) PTM_SKIP("no free port in Slurm's derived range 15000-34999");
  const std::string job = std::to_string(20000 * 7 + (port - 15000));
  const auto slurm = [&](int rank) {
    return "SLURM_JOB_ID=" + job + " SLURM_STEP_ID=0 SLURM_PROCID=" + std::to_string(rank) +
           " SLURM_LOCALID=" + std::to_string(rank) +
           " SLURM_NTASKS=2 SLURM_NODEID=0 SLURM_TASKS_PER_NODE='2(x1)' SLURM_JOB_NODELIST=localhost ";
  };
  const auto s = run_shell(slurm(0) + ptm_exe() + " " + gpt_run(tmp.file("a"), 4) + " & p0=$!\n" + slurm(1) +
                           ptm_exe() + " " + gpt_run(tmp.file("a"), 4) +
                           " & p1=$!\nwait $p0; e0=$?; wait $p1; e1=$?; echo \"exit $e0 $e1\"\n");
  INFO(s.output);
  CHECK(contains(s.output, "exit 0 0"));
  CHECK(contains(s.output, "slurm: rank 0 of 2, local rank 0 of 2, master localhost:" + std::to_string(port)));
  CHECK(summary_of(tmp.file("a"))["steps"] == 6);
}

TEST_CASE("distillation on 2 ranks gives one process's student", "[integration][dist][distill]") {
  // A teacher from a few steps of the compact BERT's fine-tuning, then the student distilled
  // from it (no logit cache: the teacher runs inside every rank's step).
  const std::string no_dropout = "model.hidden_dropout_prob=0 model.attention_probs_dropout_prob=0 ";
  ptm::test::TempDir tmp;
  auto r = run_ptm("finetune --config recipes/finetune/bert_l2_sentiment.yaml train.max_steps=2 train.eval_every=0 "
                   "train.save_every=0 train.eval_batches=1 ~data.test --run-dir " + tmp.file("teacher"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string recipe = "distill --config recipes/distill/minilm_to_bert_l2_kd.yaml train.max_steps=3 "
                             "train.log_every=1 train.eval_every=0 train.save_every=0 train.eval_batches=2 ~data.test "
                             "~objective.cache objective.teacher.checkpoint=" + tmp.file("teacher") + " " + no_dropout + kSgd;
  r = run_ptm(recipe + "train.batch_size=8 --run-dir " + tmp.file("one"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + recipe + "train.batch_size=4 --run-dir " + tmp.file("dp"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(relative_difference(final_weights(tmp.file("one")), final_weights(tmp.file("dp"))) < 1e-6);
}

TEST_CASE("ZeRO-1 shards AdamW's state and trains, saves and resumes as the unsharded run",
          "[integration][dist][zero]") {
  need_janeausten();
  ptm::test::TempDir tmp;
  const std::string extra = "train.max_steps=8 train.save_every=4 train.keep_last=0 ";
  auto r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("plain"), 4, extra));
  REQUIRE(r.exit_code == 0);
  r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("zero"), 4, extra + "train.zero=1"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(tmp.file("zero/log.txt")), "ZeRO-1: the optimizer state of"));
  // The same AdamW arithmetic on every element, only on another rank: the same weights, and
  // the gathered state is the whole state, tensor for tensor.
  CHECK(relative_difference(final_weights(tmp.file("plain")), final_weights(tmp.file("zero"))) < 1e-6);
  const auto step8 = "/checkpoints/step_00000008/optimizer.safetensors";
  CHECK(relative_difference(tmp.file("plain") + step8, tmp.file("zero") + step8) < 1e-6);
  // Killed after step 4: the sharded run resumes to the same weights.
  fs::remove_all(tmp.file("zero/checkpoints/step_00000008"));
  fs::remove(tmp.file("zero/summary.json"));
  r = run_ptm("launch --nproc 2 -- " + gpt_run(tmp.file("zero"), 4, extra + "train.zero=1"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(relative_difference(final_weights(tmp.file("plain")), final_weights(tmp.file("zero"))) < 1e-6);
}
