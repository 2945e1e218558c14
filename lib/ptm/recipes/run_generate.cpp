// `ptm generate` (run_generate.h).
#include "ptm/recipes/run_generate.h"

#include <chrono>
#include <filesystem>
#include <memory>

#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/data/tokenizer.h"
#include "ptm/models/gpt.h"
#include "ptm/models/hf_auto.h"
#include "ptm/recipes/run_model.h"

namespace fs = std::filesystem;

namespace ptm::recipes {
namespace {

const Origin kCli{"command line"};

struct Source {
  std::shared_ptr<models::ModelImpl> model;
  std::unique_ptr<data::Tokenizer> tokenizer;  // null when none comes with the model
  int64_t eos_id = -1;
  std::string context_key;  // where the context length is set, for messages
};

int64_t tokenizer_eos(const data::Tokenizer* t) {
  if (!t) return -1;
  for (const char* name : {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"})
    if (const auto id = t->token_to_id(name)) return *id;
  return -1;
}

Source load_source(const GenerateRequest& r) {
  Source s;
  std::string tokenizer_path;
  if (!r.hf.empty()) {
    s.model = models::load_hf_model(r.hf);
    tokenizer_path = r.hf + "/tokenizer.json";
    const auto config = models::read_hf_config(r.hf);
    const auto eos = config.find("eos_token_id");
    if (eos != config.end() && eos->is_number_integer()) s.eos_id = eos->get<int64_t>();
    if (eos != config.end() && eos->is_array() && !eos->empty() && (*eos)[0].is_number_integer())
      s.eos_id = (*eos)[0].get<int64_t>();
    s.context_key = r.hf + "/config.json (n_positions / max_position_embeddings)";
  } else {
    const auto run = load_run_model(r.from);
    s.model = run.model;
    const auto* data = run.recipe.resolved.find("data");
    const auto* path = data ? data->find("path") : nullptr;
    if (path && path->is_scalar()) tokenizer_path = path->text() + "/tokenizer.json";
    s.context_key = "the run's model.n_positions";
  }
  if (!tokenizer_path.empty() && fs::exists(tokenizer_path)) s.tokenizer = data::load_tokenizer(tokenizer_path);
  if (s.eos_id == -1) s.eos_id = tokenizer_eos(s.tokenizer.get());
  if (s.model->arch() != "gpt")
    throw ConfigError(
        kCli, r.hf.empty() ? "--from" : "--hf",
        "generate needs a causal language model (gpt: GPT-2, Llama, Mistral); this is a " + s.model->arch() + " model");
  return s;
}

}  // namespace

std::vector<nlohmann::json> run_generate(const GenerateRequest& r) {
  if (r.from.empty() == r.hf.empty())
    throw ConfigError(kCli, "--from", "give either --from RUN|CHECKPOINT or --hf DIR");
  if (r.prompts.empty() == r.prompt_ids.empty())
    throw ConfigError(kCli, "--prompt", "give either --prompt TEXT (or --prompts FILE) or --prompt-ids 1,2,3");
  if (r.options.temperature <= 0 && (r.options.top_k > 0 || r.options.top_p < 1.0))
    throw ConfigError(kCli, r.options.top_k > 0 ? "--top-k" : "--top-p",
                      "filters sampling; give --temperature > 0 too (temperature 0 is greedy)");
  Source s = load_source(r);
  auto options = r.options;
  options.eos_id = r.eos_id == -2 ? s.eos_id : r.eos_id;

  std::vector<std::vector<int64_t>> prompts;
  if (!r.prompt_ids.empty()) {
    for (const auto id : r.prompt_ids)
      if (id < 0 || id >= s.model->vocab_size())
        throw ConfigError(kCli, "--prompt-ids",
                          std::to_string(id) + " is outside the model's vocabulary (0.." +
                              std::to_string(s.model->vocab_size() - 1) + ")");
    prompts.push_back(r.prompt_ids);
  } else {
    if (!s.tokenizer)
      throw ConfigError(kCli, "--prompt",
                        "text needs the model's tokenizer, and none comes with it (no tokenizer.json" +
                            std::string(r.hf.empty() ? " in the run's data.path" : " in " + r.hf) +
                            "); give --prompt-ids instead");
    for (const auto& text : r.prompts) {
      // With the template's specials, as transformers' tokenizer(text) (Llama's BOS; none for GPT-2).
      const auto ids = data::encode_for_model(*s.tokenizer, text, std::nullopt, {}).ids;
      if (ids.empty()) throw ConfigError(kCli, "--prompt", "'" + text + "' encodes to no tokens");
      prompts.emplace_back(ids.begin(), ids.end());
    }
  }
  // Rotary models report no position limit (max_positions 0); their configured context
  // (n_positions, max_position_embeddings) bounds generation all the same.
  const auto* gpt = dynamic_cast<const models::GptImpl*>(s.model.get());
  const int64_t context = gpt ? gpt->options().n_positions : s.model->max_positions();
  for (const auto& p : prompts) {
    const int64_t n = static_cast<int64_t>(p.size());
    if (context > 0 && n > context)
      throw ConfigError(kCli, r.prompt_ids.empty() ? "--prompt" : "--prompt-ids",
                        "the prompt has " + std::to_string(n) + " tokens, longer than the model's context of " +
                            std::to_string(context) + " positions (" + s.context_key + ")");
    if (context > 0 && n + options.max_new_tokens > context)
      throw ConfigError(kCli, "--max-new-tokens",
                        std::to_string(options.max_new_tokens) + " new tokens after the prompt's " + std::to_string(n) +
                            " exceed the model's context of " + std::to_string(context) + " positions (" +
                            s.context_key + ")");
  }

  const torch::Device device(resolve_device(r.device));
  s.model->to(device);
  std::vector<nlohmann::json> out;
  for (const auto& p : prompts) {
    const auto start = std::chrono::steady_clock::now();
    const auto ids = models::generate(*s.model, p, options, device);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t new_tokens = static_cast<int64_t>(ids.size() - p.size());
    nlohmann::json j = {{"ids", ids},
                        {"prompt_tokens", p.size()},
                        {"new_tokens", new_tokens},
                        {"seconds", seconds},
                        {"tokens_per_s", seconds > 0 ? double(new_tokens) / seconds : 0.0}};
    if (s.tokenizer) {
      const std::vector<int32_t> generated(ids.begin() + static_cast<std::ptrdiff_t>(p.size()), ids.end());
      j["text"] = s.tokenizer->decode(generated);
    }
    log::info("generate: " + std::to_string(new_tokens) + " tokens in " + std::to_string(seconds) + " s (" +
              std::to_string(j["tokens_per_s"].get<double>()) + " tokens/s)");
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace ptm::recipes
