// `ptm generate --from RUN|CHECKPOINT | --hf DIR --prompt TEXT | --prompts FILE | --prompt-ids 1,2,3 [...]
//   | --prompt-ids-file FILE
//   [--max-new-tokens N --temperature T --top-k K --top-p P --seed S --eos-id E --batch-size B
//    --no-kv-cache --threads N --json]`
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "ptm/core/errors.h"
#include "ptm/recipes/run_generate.h"

namespace ptm::cli {

namespace {

// The prompts of a file, one per line with its origin; lines empty (or only of `blank`
// characters) are skipped. IoError when unreadable, ConfigError when no prompt is left.
std::vector<std::pair<Origin, std::string>> prompt_lines(const std::string& path, const std::string& option,
                                                         const char* blank) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot be read (" + option + ")");
  std::vector<std::pair<Origin, std::string>> out;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(blank) == std::string::npos) continue;
    out.emplace_back(Origin{path, line_no, 0}, std::move(line));
  }
  if (out.empty()) throw ConfigError(Origin{path}, option, "holds no prompt");
  return out;
}

}  // namespace

void add_generate(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("generate", "Continue prompts with a language model (greedy or sampled)");
  struct Args {
    recipes::GenerateRequest request;
    std::string prompt, prompts_file, ids_file;
    std::vector<std::string> id_lists;  // one prompt each: "1,2,3"
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto& r = a->request;
  auto* from = sub->add_option("--from", r.from, "run directory (newest checkpoint) or checkpoint folder");
  auto* hf = sub->add_option("--hf", r.hf, "or: a Hugging Face folder (config.json + safetensors [+ tokenizer.json])");
  from->excludes(hf);
  auto* prompt = sub->add_option("--prompt", a->prompt, "text to continue (needs the model's tokenizer)");
  auto* prompts = sub->add_option("--prompts", a->prompts_file, "or: a file with one prompt per line");
  auto* ids = sub->add_option("--prompt-ids", a->id_lists,
                              "or: token ids, e.g. 1,2,3; give it again (or several lists) for a batch");
  auto* ids_file = sub->add_option("--prompt-ids-file", a->ids_file,
                                   "or: a file with one prompt's token ids per line (1,2,3 or 1 2 3)");
  prompt->excludes(prompts)->excludes(ids)->excludes(ids_file);
  prompts->excludes(ids)->excludes(ids_file);
  ids->excludes(ids_file);
  sub->add_option("--max-new-tokens", r.options.max_new_tokens, "tokens to generate (default 32)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--temperature", r.options.temperature, "0 (default): greedy; > 0: sample")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--top-k", r.options.top_k, "sample among the k most likely tokens (0 = all)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--top-p", r.options.top_p, "sample among the most likely tokens whose probability reaches p")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--seed", r.options.seed, "seed of the sampling generator (default 0)");
  sub->add_option("--eos-id", r.eos_id,
                  "stop after this token (default: config.json's eos_token_id or the tokenizer's end-of-text; "
                  "-1: never)");
  sub->add_option("--batch-size", r.batch_size, "prompts decoded together, left-padded (default 8)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("!--no-kv-cache", r.options.kv_cache,
                "rerun the whole sequence at each step, one prompt at a time (the reference path)");
  sub->add_option("--device", r.device, "auto, cpu, cuda or cuda:N");
  sub->add_option("--threads", r.threads, "CPU threads (default: LibTorch's)")->check(CLI::PositiveNumber);
  sub->add_flag("--json", a->json, "one JSON line per prompt: ids, text, tokens/s");
  sub->callback([&action, a] {
    action = [a] {
      auto request = a->request;
      if (!a->prompt.empty()) request.prompts.push_back(a->prompt);
      if (!a->prompts_file.empty())
        for (auto& [where, line] : prompt_lines(a->prompts_file, "--prompts", "")) {
          request.prompts.push_back(std::move(line));
          request.prompt_origins.push_back(where);
        }
      for (const auto& list : a->id_lists)
        request.prompt_ids.push_back(recipes::parse_prompt_ids(list, Origin{"command line"}, "--prompt-ids"));
      if (!a->ids_file.empty())
        for (const auto& [where, line] : prompt_lines(a->ids_file, "--prompt-ids-file", " \t\r")) {
          request.prompt_ids.push_back(recipes::parse_prompt_ids(line, where, "--prompt-ids-file"));
          request.prompt_origins.push_back(where);
        }
      for (const auto& result : recipes::run_generate(request)) {
        if (a->json)
          std::cout << result.dump() << "\n";
        else if (result.contains("text"))
          std::cout << result["text"].get<std::string>() << "\n";
        else
          std::cout << result["ids"].dump() << "\n";
      }
      return 0;
    };
  });
}

}  // namespace ptm::cli
