// `ptm generate`: greedy continuation equal token for token to transformers' greedy
// generate() on random GPT-2, Llama (GQA) and Mistral (sliding window shorter than the
// sequence) models, with the key/value cache and without; several prompts batched (left
// padding) equal to transformers' batched greedy generate and to each prompt alone, stopping
// per sequence at the end-of-text token; seeded sampling repeatable, top-k 1 and a tiny top-p
// equal to greedy; bad input (a prompt longer than the context, ids outside the vocabulary,
// text without a tokenizer, filters without a temperature) exit 2 naming the option.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/safetensors.h"

using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

int python(const std::string& script, const std::string& args, const ptm::test::TempDir& d) {
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/" + script + "' " + args + " >/dev/null 2>>'" + d.file("py_err.txt") + "'";
  return WEXITSTATUS(std::system(cmd.c_str()));
}

// Every JSON line of ptm generate's output, REQUIREd to succeed.
std::vector<nlohmann::json> ptm_lines(const std::string& args) {
  const auto r = run_ptm("generate " + args + " --json");
  INFO(args << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::string join(const std::vector<int64_t>& ids) {
  std::string s;
  for (const auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// ptm generate's ids for one prompt (--json), REQUIREd to succeed.
std::vector<int64_t> ptm_ids(const std::string& args) {
  const auto r = run_ptm("generate " + args + " --json");
  INFO(args << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out)["ids"].get<std::vector<int64_t>>();
}

}  // namespace

TEST_CASE("ptm generate greedy equals transformers' greedy generate", "[integration][generate]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  REQUIRE(python("gpt2_reference.py", "reference '" + d.file("gpt2") + "' '" + d.file("gpt2.safetensors") + "'", d) ==
          0);
  for (const std::string name : {"gqa3", "mistral"})
    REQUIRE(python("llama_reference.py",
                   "reference " + name + " '" + d.file(name) + "' '" + d.file(name + ".safetensors") + "'", d) == 0);
  INFO(read_text(d.file("py_err.txt")));
  const std::vector<int64_t> prompt = {5, 17, 301, 42, 9, 250};
  ptm::models::save_safetensors(d.file("prompt.safetensors"),
                                {{"prompt", torch::tensor(prompt, torch::kInt64).unsqueeze(0)}});
  for (const std::string name : {"gpt2", "gqa3", "mistral"}) {
    INFO(name);
    REQUIRE(python("llama_reference.py",
                   "generate '" + d.file(name) + "' '" + d.file("prompt.safetensors") + "' '" +
                       d.file("out.safetensors") + "' 24",
                   d) == 0);
    const auto theirs = ptm::models::SafetensorsFile(d.file("out.safetensors")).tensor("ids").squeeze(0);
    const std::vector<int64_t> expected(theirs.data_ptr<int64_t>(), theirs.data_ptr<int64_t>() + theirs.numel());
    REQUIRE(expected.size() == prompt.size() + 24);
    const std::string args = "--hf " + d.file(name) + " --prompt-ids " + join(prompt) + " --max-new-tokens 24";
    CHECK(ptm_ids(args) == expected);
    CHECK(ptm_ids(args + " --no-kv-cache") == expected);
  }

  // Sampling: the seed decides; top-k 1 and a tiny top-p leave only the greedy token.
  const std::string base = "--hf " + d.file("gqa3") + " --prompt-ids " + join(prompt) + " --max-new-tokens 24";
  const auto greedy = ptm_ids(base);
  const auto a = ptm_ids(base + " --temperature 1 --top-k 50 --top-p 0.95 --seed 3");
  CHECK(a == ptm_ids(base + " --temperature 1 --top-k 50 --top-p 0.95 --seed 3"));
  CHECK(a != ptm_ids(base + " --temperature 1 --top-k 50 --top-p 0.95 --seed 4"));
  CHECK(a != greedy);
  CHECK(ptm_ids(base + " --temperature 1 --top-k 1 --seed 3") == greedy);
  CHECK(ptm_ids(base + " --temperature 1 --top-p 0.000001 --seed 3") == greedy);
  // A stop token ends the continuation right after it.
  const auto stopped = ptm_ids(base + " --eos-id " + std::to_string(greedy[prompt.size() + 2]));
  CHECK(stopped == std::vector<int64_t>(greedy.begin(), greedy.begin() + static_cast<long>(prompt.size()) + 3));
}

// Several prompts of different lengths (--prompts FILE) in one left-padded batch: the ids of
// transformers' batched greedy generate (attention mask, position ids from it), each sequence
// stopping at the end-of-text token of config.json on its own; and the same ids in batches of
// one and with the cache off.
TEST_CASE("ptm generate batches prompts as transformers' batched greedy generate", "[integration][generate]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  REQUIRE(python("llama_tokenizer_build.py",
                 "llama3 '" + d.file("tok.json") + "' '" + ptm::test::data_dir() + "/corpus/janeausten/emma.txt'",
                 d) == 0);
  {
    std::ofstream f(d.file("prompts.txt"));
    f << "Emma Woodhouse, handsome, clever, and rich, with a comfortable home\n"
         "She was\n"
         "\n"  // blank lines are skipped
         "Mr. Knightley, a sensible man about seven or eight-and-thirty\n"
         "It\n";
  }
  for (const std::string arch : {"gpt2", "llama", "mistral"}) {
    INFO(arch);
    REQUIRE(python("batch_generate_reference.py", arch + " '" + d.file("tok.json") + "' '" + d.file(arch) + "' '" +
                                                      d.file("prompts.txt") + "' 16 '" + d.file(arch + ".json") + "'",
                   d) == 0);
    INFO(read_text(d.file("py_err.txt")));
    const auto expected = nlohmann::json::parse(read_text(d.file(arch + ".json")));
    REQUIRE(expected["ids"].size() == 4);
    // The stop token ends some sequences early and not others.
    size_t stopped = 0;
    for (const auto& ids : expected["ids"]) stopped += ids.back() == expected["eos"] ? 1 : 0;
    CHECK(stopped >= 1);
    CHECK(stopped < 4);
    // The same prompts as token ids (transformers' encoding, the first ids of each reference
    // sequence): one --prompt-ids per prompt, or a --prompt-ids-file with a blank line.
    const auto& prompt_lengths = expected["prompt_lengths"];
    REQUIRE(prompt_lengths.size() == 4);
    std::string id_options;
    {
      std::ofstream f(d.file("prompt_ids.txt"));
      for (size_t i = 0; i < 4; ++i) {
        const auto& all = expected["ids"][i];
        const std::vector<int64_t> p(all.begin(), all.begin() + prompt_lengths[i].get<std::ptrdiff_t>());
        id_options += " --prompt-ids " + join(p);
        std::string spaced = join(p);
        std::replace(spaced.begin(), spaced.end(), ',', ' ');
        f << (i % 2 ? spaced : join(p)) << "\n" << (i == 1 ? "\n" : "");
      }
    }
    const std::string model = "--hf '" + d.file(arch) + "' --max-new-tokens 16";
    const std::string base = model + " --prompts '" + d.file("prompts.txt") + "'";
    for (const std::string& extra : std::vector<std::string>{"", " --batch-size 1", " --batch-size 3", " --no-kv-cache",
                                    "|" + id_options, "|" + id_options + " --batch-size 3",
                                    "| --prompt-ids-file '" + d.file("prompt_ids.txt") + "'"}) {
      INFO(extra);
      // "|..." replaces the text prompts.
      const auto lines = ptm_lines(extra.rfind('|', 0) == 0 ? model + extra.substr(1) : base + extra);
      REQUIRE(lines.size() == 4);
      for (size_t i = 0; i < 4; ++i) {
        INFO("prompt " << i);
        CHECK(lines[i]["ids"] == expected["ids"][i]);
        CHECK(lines[i]["prompt_tokens"].get<size_t>() + lines[i]["new_tokens"].get<size_t>() ==
              expected["ids"][i].size());
        CHECK(lines[i]["decode_tokens_per_s"].get<double>() > 0);
      }
    }
  }
}

// A continuation that ends inside a UTF-8 character (a GPT-2 byte-level tokenizer's lone lead
// byte 0xE2, three times): text with U+FFFD as transformers decodes it, not bytes JSON cannot hold.
TEST_CASE("ptm generate decodes a partial character as transformers does", "[integration][generate]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  REQUIRE(python("byte_token_model.py", "'" + ptm::test::data_dir() + "/prepared/janeausten_bpe8k/tokenizer.json' '" +
                                            d.file("m") + "' 3 '" + d.file("out.json") + "'",
                 d) == 0);
  INFO(read_text(d.file("py_err.txt")));
  const auto expected = nlohmann::json::parse(read_text(d.file("out.json")));
  const auto r = run_ptm("generate --hf '" + d.file("m") + "' --prompt 'She was' --max-new-tokens 3 --eos-id -1 --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto mine = nlohmann::json::parse(r.out);
  const int64_t id = expected["id"].get<int64_t>();
  const auto ids = mine["ids"].get<std::vector<int64_t>>();
  CHECK(std::vector<int64_t>(ids.end() - 3, ids.end()) == std::vector<int64_t>{id, id, id});
  CHECK(mine["text"] == expected["text"]);
  CHECK(expected["text"] == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("ptm generate refuses bad input with exit 2", "[integration][generate]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  REQUIRE(python("llama_reference.py", "reference gqa3 '" + d.file("m") + "' '" + d.file("m.safetensors") + "'", d) ==
          0);
  const std::string hf = " --hf " + d.file("m");
  std::vector<int64_t> long_prompt(120, 7);
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {hf + " --prompt-ids " + join(std::vector<int64_t>(129, 7)),
       "--prompt-ids: the prompt has 129 tokens, longer than the model's context of 128 positions (" + d.file("m") +
           "/config.json"},
      {hf + " --prompt-ids " + join(long_prompt) + " --max-new-tokens 9",
       "--max-new-tokens: 9 new tokens after the prompt's 120 exceed the model's context of 128"},
      {hf + " --prompt-ids 3,1001", "--prompt-ids: 1001 is outside the model's vocabulary (0..1000)"},
      {hf + " --prompt hello", "--prompt: text needs the model's tokenizer"},
      {hf + " --prompt-ids 3 --top-k 5", "--top-k: filters sampling; give --temperature > 0 too"},
      {" --prompt-ids 3", "give either --from RUN|CHECKPOINT or --hf DIR"},
      {hf + " --prompt-ids 3,x4", "--prompt-ids: 'x4' is not a token id (expected integers such as 1,2,3)"},
      {hf + " --prompt-ids 3 --prompt-ids 5,1001", "--prompt-ids: 1001 is outside the model's vocabulary (0..1000)"},
      {hf + " --prompt-ids 3 --prompt-ids " + join(std::vector<int64_t>(129, 7)),
       "--prompt-ids: prompt 2 has 129 tokens, longer than the model's context of 128 positions"},
      {hf + " --prompt-ids-file " + d.file("none.txt"), d.file("none.txt") + ": cannot be read (--prompt-ids-file)"},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    const auto r = run_ptm("generate" + c.args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, c.message));
  }

  // A prompt of a --prompts file too long for the context: named by its file, line and start.
  REQUIRE(python("llama_tokenizer_build.py",
                 "llama3 '" + d.file("tok.json") + "' '" + ptm::test::data_dir() + "/corpus/janeausten/emma.txt'",
                 d) == 0);
  std::filesystem::copy_file(d.file("tok.json"), d.file("m") + "/tokenizer.json");
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "Emma Woodhouse, handsome, clever, and rich. ";
  {
    std::ofstream f(d.file("prompts.txt"));
    f << "She was\n\n" << long_text << "\n";
  }
  // A bad line of a --prompt-ids-file: named by its file and line.
  {
    std::ofstream f(d.file("ids.txt"));
    f << "3,4\n\n5 6 2.5\n";
  }
  const auto bad = run_ptm("generate" + hf + " --prompt-ids-file " + d.file("ids.txt"));
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, d.file("ids.txt") + ":3: --prompt-ids-file: '2.5' is not a token id"));

  const auto r = run_ptm("generate" + hf + " --prompts " + d.file("prompts.txt"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, d.file("prompts.txt") + ":3: --prompts: prompt 2 ('Emma Woodhouse, handsome, clever, and ri...') has "));
  CHECK(contains(r.err, "tokens, longer than the model's context of 128 positions (" + d.file("m") + "/config.json"));
}

// Text prompts through the folder's tokenizer.json as transformers encodes them (the template's
// BOS for Llama 3 and SentencePiece-style files), and the continuation decoded as it decodes it.
TEST_CASE("ptm generate text prompts equal transformers on Llama 3 and Llama 2 tokenizers", "[integration][generate]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  const std::string prompt = "Emma Woodhouse, handsome, clever, and rich, with a comfortable home";
  for (const std::string kind : {"llama3", "llama2"}) {
    INFO(kind);
    REQUIRE(python("llama_tokenizer_build.py",
                   kind + " '" + d.file(kind + ".json") + "' '" + ptm::test::data_dir() + "/corpus/janeausten/emma.txt'",
                   d) == 0);
    REQUIRE(python("llama_text_generate.py", "'" + d.file(kind + ".json") + "' '" + d.file(kind) + "' '" + prompt +
                                                 "' 12 '" + d.file(kind + "_out.json") + "'",
                   d) == 0);
    INFO(read_text(d.file("py_err.txt")));
    const auto expected = nlohmann::json::parse(read_text(d.file(kind + "_out.json")));
    const auto r = run_ptm("generate --hf '" + d.file(kind) + "' --prompt '" + prompt +
                           "' --max-new-tokens 12 --eos-id -1 --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto mine = nlohmann::json::parse(r.out);
    CHECK(mine["ids"] == expected["ids"]);
    CHECK(mine["text"] == expected["text"]);
  }
}
