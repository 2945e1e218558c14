// `ptm data prepare` at scale, run as a process: peak resident memory stays bounded on a
// corpus much larger than the bound, and a run killed mid-way continues from its finished
// shards to the same bytes as an uninterrupted run (one corpus and a weighted mixture), and bad
// input exits 2 naming the file or key; a second prepare of the same output is refused.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"

namespace fs = std::filesystem;
extern char** environ;

namespace {

// Starts `ptm data prepare` with `args`, stdout and stderr to files in `dir` (named with `tag`).
pid_t start_prepare(const ptm::test::TempDir& dir, const std::vector<std::string>& args, const std::string& tag = "") {
  std::vector<std::string> argv_s{ptm::test::ptm_binary(), "data", "prepare"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, dir.file("stdout" + tag).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, dir.file("stderr" + tag).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

struct Finished {
  int exit_code = -1;
  long max_rss_kb = 0;
};
Finished wait_for(pid_t pid) {
  int status = 0;
  rusage ru{};
  REQUIRE(wait4(pid, &status, 0, &ru) == pid);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ru.ru_maxrss};
}

// `n` bytes of English-like text over several files, documents of a few KB each (JSONL).
void write_corpus(const ptm::test::TempDir& d, const std::string& dir, size_t n, int files) {
  std::mt19937 rng(1);
  static const char* words[] = {"the", "kernel", "maps", "a", "page", "into", "memory", "and", "returns", "zero",
                                "when", "the", "device", "is", "ready", "for", "another", "request"};
  for (int f = 0; f < files; ++f) {
    std::string out;
    while (out.size() < n / files) {
      std::string doc;
      const size_t len = 500 + rng() % 6000;
      while (doc.size() < len) doc += std::string(words[rng() % 18]) + (rng() % 12 == 0 ? ".\n" : " ");
      out += nlohmann::json{{"text", doc}}.dump() + "\n";
    }
    d.write(dir + "/part" + std::to_string(f) + ".jsonl", out);
  }
}

// A recipe of its own (the byte tokenizer unless `yaml` names another) with `yaml` added to its
// prepare: section, and command-line overrides.
std::vector<std::string> recipe_args(const ptm::test::TempDir& d, const std::string& corpus, const std::string& out,
                                     const std::vector<std::string>& overrides = {}, const std::string& yaml = "") {
  const auto recipe = d.write("prepare.yaml",
                              "prepare:\n  sources: [" + corpus + "]\n  out: " + out +
                                  "\n  format: jsonl\n  val_fraction: 0.05\n  shard_tokens: 2000000\n" +
                                  (yaml.find("tokenizer:") == std::string::npos ? "  tokenizer: {type: bytes}\n" : "") +
                                  yaml);
  std::vector<std::string> a{"--config", recipe};
  a.insert(a.end(), overrides.begin(), overrides.end());
  return a;
}

}  // namespace

TEST_CASE("ptm data prepare stays within its memory bound on a corpus far larger", "[integration][data]") {
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed blocks in quarantine and adds shadow memory: the peak RSS is its own.
  PTM_SKIP("peak memory is not ptm's under AddressSanitizer (scripts/sanitize.sh)");
#endif
  ptm::test::TempDir d;
  write_corpus(d, "small", 200'000, 1);
  write_corpus(d, "big", 120'000'000, 6);  // 120 MB: the old path held ~5 bytes per byte of text
  const auto small = wait_for(start_prepare(d, recipe_args(d, d.file("small"), d.file("out_small"), {"prepare.memory_mb=32"})));
  REQUIRE(small.exit_code == 0);
  const auto t0 = std::chrono::steady_clock::now();
  const auto big = wait_for(start_prepare(d, recipe_args(d, d.file("big"), d.file("out_big"), {"prepare.memory_mb=32"})));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(ptm::test::read_text(d.file("stderr")));
  REQUIRE(big.exit_code == 0);
  const auto m = nlohmann::json::parse(ptm::test::read_text(d.file("out_big/manifest.json")));
  CHECK(m["train"]["tokens"].get<int64_t>() + m["val"]["tokens"].get<int64_t>() > 110'000'000);
  // 32 MB of batches in flight plus the process; the whole corpus's ids would be 480 MB.
  const long extra_mb = (big.max_rss_kb - small.max_rss_kb) / 1024;
  INFO("peak RSS " << big.max_rss_kb / 1024 << " MB vs " << small.max_rss_kb / 1024 << " MB on 200 KB, " << s << " s");
  CHECK(extra_mb < 48);
}

TEST_CASE("a killed ptm data prepare continues from its finished shards to the same bytes", "[integration][data]") {
  ptm::test::TempDir d;
  write_corpus(d, "corpus", 30'000'000, 3);
  write_corpus(d, "other", 10'000'000, 2);
  // One corpus, and a weighted mixture of two (resumed in the middle of the interleave) with a
  // trained BPE (the resumed run loads it from the partial folder).
  for (const bool mixed : {false, true}) {
    INFO((mixed ? "mixture" : "one corpus"));
    const std::string corpus = mixed ? d.file("corpus") + ", " + d.file("other") : d.file("corpus");
    const std::string yaml = mixed ? "  weights: [0.6, 0.4]\n  tokenizer: {type: bpe, vocab_size: 300}\n"
                                     "  tokenizer_train_bytes: 1000000\n"
                                   : "";
    const std::string tag = mixed ? "_mixed" : "";
    // One corpus: killed with finished train shards and val's first shard still open. The
    // mixture: with small shards, killed once val has finished one too.
    const std::string shards = mixed ? "prepare.shard_tokens=400000" : "prepare.shard_tokens=2000000";
    const auto whole = wait_for(start_prepare(d, recipe_args(d, corpus, d.file("whole" + tag), {shards}, yaml)));
    REQUIRE(whole.exit_code == 0);

    const auto out = d.file("killed" + tag);
    // Killed on all cores, continued on one (and another memory bound): the same bytes.
    const pid_t pid = start_prepare(d, recipe_args(d, corpus, out, {shards}, yaml));
    // Kill it once a few shards are finished (the checkpoint lists them).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      std::string resume;
      if (fs::exists(out + ".partial/resume.json")) resume = ptm::test::read_text(out + ".partial/resume.json");
      if (!resume.empty() && nlohmann::json::parse(resume)[mixed ? "val" : "train"]["shards"].size() >= (mixed ? 1 : 3))
        break;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(pid, SIGKILL);
    REQUIRE(wait_for(pid).exit_code == 128 + SIGKILL);
    CHECK_FALSE(fs::exists(out + "/manifest.json"));  // nothing looks complete
    CHECK_FALSE(fs::exists(out + ".partial/manifest.json"));
    if (mixed) {  // as if killed after val's open shard was finished and renamed, before the next checkpoint
      const auto j = nlohmann::json::parse(ptm::test::read_text(out + ".partial/resume.json"));
      const auto open = out + ".partial/" + j["val"]["open"]["file"].get<std::string>();
      char name[64];
      std::snprintf(name, sizeof(name), "/val_%06zu.bin", j["val"]["shards"].size());
      REQUIRE(fs::exists(open));
      fs::rename(open, out + ".partial" + name);
    }

    const auto again =
        wait_for(start_prepare(d, recipe_args(d, corpus, out, {shards, "prepare.threads=1", "prepare.memory_mb=64"}, yaml)));
    const auto err = ptm::test::read_text(d.file("stderr"));
    INFO(err);
    REQUIRE(again.exit_code == 0);
    CHECK(ptm::test::contains(err, "finished shards"));
    CHECK_FALSE(ptm::test::contains(err, "continuing from document 0 "));  // not from the start
    if (!mixed) CHECK(ptm::test::contains(err, " + 0 finished shards"));
    const auto a = nlohmann::json::parse(ptm::test::read_text(d.file("whole" + tag + "/manifest.json")));
    const auto b = nlohmann::json::parse(ptm::test::read_text(out + "/manifest.json"));
    CHECK(b["train"] == a["train"]);
    CHECK(b["val"] == a["val"]);
    CHECK(b["sources"] == a["sources"]);
    CHECK(b["tokenizer"].dump() == a["tokenizer"].dump());
    CHECK(b["tokenizer"]["vocab_size"] == (mixed ? 300 : 257));
    REQUIRE(b.contains("mixture") == mixed);
    if (mixed) CHECK(b["mixture"].dump() == a["mixture"].dump());  // per-source token counts survive the resume
    CHECK_FALSE(fs::exists(out + ".partial"));
  }
}

// Waits until `lock` names `pid` (the process holds it).
void wait_for_lock(const std::string& lock, pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!(fs::exists(lock) && ptm::test::read_text(lock) == std::to_string(pid) + "\n")) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST_CASE("a second ptm data prepare of the same out exits 2 naming the lock file and the process that holds it",
          "[integration][data]") {
  ptm::test::TempDir d;
  write_corpus(d, "corpus", 4'000'000, 2);
  const std::string out = d.file("out");
  const auto args = recipe_args(d, d.file("corpus"), out, {"prepare.threads=1"});
  const pid_t first = start_prepare(d, args, "_first");
  wait_for_lock(out + ".lock", first);
  ::kill(first, SIGSTOP);  // it holds the lock, wherever it is in its work, while the second one starts
  const auto second = wait_for(start_prepare(d, args, "_second"));
  const auto err = ptm::test::read_text(d.file("stderr_second"));
  ::kill(first, SIGCONT);
  INFO(err);
  CHECK(second.exit_code == 2);
  CHECK(ptm::test::contains(err, "'" + out + ".lock' is locked by another process (pid " + std::to_string(first) +
                                     ") preparing '" + out + "'; wait for it to finish or stop it"));
  const auto done = wait_for(first);
  INFO(ptm::test::read_text(d.file("stderr_first")));
  CHECK(done.exit_code == 0);
  CHECK(fs::exists(out + "/manifest.json"));
  CHECK_FALSE(fs::exists(out + ".lock"));  // removed by its holder
  // A holder killed outright leaves its file but not the lock: the next run takes it and continues.
  const std::string killed = d.file("killed");
  const auto killed_args = recipe_args(d, d.file("corpus"), killed, {"prepare.threads=1"});
  const pid_t victim = start_prepare(d, killed_args, "_victim");
  wait_for_lock(killed + ".lock", victim);
  ::kill(victim, SIGKILL);
  REQUIRE(wait_for(victim).exit_code == 128 + SIGKILL);
  const auto again = wait_for(start_prepare(d, killed_args, "_again"));
  INFO(ptm::test::read_text(d.file("stderr_again")));
  CHECK(again.exit_code == 0);
  CHECK(fs::exists(killed + "/manifest.json"));
  CHECK_FALSE(fs::exists(killed + ".lock"));
}

TEST_CASE("bad ptm data prepare input exits 2 naming the file or key and writes nothing", "[integration][data]") {
  ptm::test::TempDir d;
  write_corpus(d, "corpus", 200'000, 1);
  d.write("bad_key/a.jsonl", "{\"text\": \"fine\"}\n{\"body\": \"no text key\"}\n");
  // A gzip file cut in half.
  REQUIRE(std::system(("mkdir -p '" + d.file("gz") + "' && cp '" + d.file("corpus/part0.jsonl") + "' '" +
                       d.file("gz/a.jsonl") + "' && gzip '" + d.file("gz/a.jsonl") + "' && truncate -s 20000 '" +
                       d.file("gz/a.jsonl.gz") + "'")
                          .c_str()) == 0);
  struct Case {
    std::string corpus, yaml, message;
  };
  for (const auto& [corpus, yaml, message] : std::vector<Case>{
           {d.file("nowhere"), "", "'" + d.file("nowhere") + "' does not exist"},
           {d.file("bad_key"), "", d.file("bad_key/a.jsonl") + ":2: no string field 'text'"},
           {d.file("gz"), "", d.file("gz/a.jsonl.gz") + "': truncated gzip data"},
           {d.file("corpus"), "  weights: [0.5, 0.5]\n", "prepare.weights: needs one weight per source"},
           {d.file("corpus") + ", " + d.file("corpus"), "  weights: [1, -1]\n", "prepare.weights: must be >= 0"},
           {d.file("corpus") + ", " + d.file("corpus"), "  weights: [0, 0]\n", "prepare.weights: must not all be 0"}}) {
    const auto r = wait_for(start_prepare(d, recipe_args(d, corpus, d.file("out"), {}, yaml)));
    const auto err = ptm::test::read_text(d.file("stderr"));
    INFO(err);
    CHECK(r.exit_code == 2);
    CHECK(ptm::test::contains(err, message));
    CHECK_FALSE(fs::exists(d.file("out")));
    CHECK_FALSE(fs::exists(d.file("out.partial")));
  }
}
