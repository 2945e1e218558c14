// `ptm generate` (run_generate.h).
#include "ptm/recipes/run_generate.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <sstream>

#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/data/text_pipeline.h"
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

// The start of a prompt, for messages (cut at a UTF-8 character boundary).
std::string excerpt(const std::string& text) {
  if (text.size() <= 40) return text;
  size_t cut = 40;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

double rate(int64_t tokens, double seconds) { return seconds > 0 ? double(tokens) / seconds : 0.0; }

std::string fixed(double v, int decimals) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(decimals) << v;
  return o.str();
}

}  // namespace

std::vector<int64_t> parse_prompt_ids(const std::string& text, const Origin& where, const std::string& key) {
  std::vector<int64_t> ids;
  size_t at = 0;
  auto separator = [](char ch) { return ch == ',' || ch == ' ' || ch == '\t' || ch == '\r'; };
  while (at < text.size()) {
    if (separator(text[at])) {
      ++at;
      continue;
    }
    size_t end = at;
    while (end < text.size() && !separator(text[end])) ++end;
    const std::string item = text.substr(at, end - at);
    int64_t id = 0;
    size_t used = 0;
    try {
      id = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size())
      throw ConfigError(where, key, "'" + item + "' is not a token id (expected integers such as 1,2,3)");
    ids.push_back(id);
    at = end;
  }
  return ids;
}

std::vector<nlohmann::json> run_generate(const GenerateRequest& r) {
  if (r.from.empty() == r.hf.empty())
    throw ConfigError(kCli, "--from", "give either --from RUN|CHECKPOINT or --hf DIR");
  if (r.prompts.empty() == r.prompt_ids.empty())
    throw ConfigError(kCli, "--prompt",
                      "give either --prompt TEXT (or --prompts FILE) or --prompt-ids 1,2,3 (or --prompt-ids-file FILE)");
  if (r.options.temperature <= 0 && (r.options.top_k > 0 || r.options.top_p < 1.0))
    throw ConfigError(kCli, r.options.top_k > 0 ? "--top-k" : "--top-p",
                      "filters sampling; give --temperature > 0 too (temperature 0 is greedy)");
  Source s = load_source(r);
  auto options = r.options;
  options.eos_id = r.eos_id == -2 ? s.eos_id : r.eos_id;

  // Where prompt i came from, the option that gave it, and how to name it in a message.
  const bool as_ids = !r.prompt_ids.empty();
  const size_t count = as_ids ? r.prompt_ids.size() : r.prompts.size();
  auto origin = [&](size_t i) { return i < r.prompt_origins.size() ? r.prompt_origins[i] : kCli; };
  auto key = [&](size_t i) {
    if (i < r.prompt_origins.size()) return std::string(as_ids ? "--prompt-ids-file" : "--prompts");
    return std::string(as_ids ? "--prompt-ids" : "--prompt");
  };
  auto which = [&](size_t i) {
    if (count == 1 && i >= r.prompt_origins.size()) return std::string("the prompt");
    const std::string n = "prompt " + std::to_string(i + 1);
    return as_ids ? n : n + " ('" + excerpt(r.prompts[i]) + "')";
  };

  std::vector<std::vector<int64_t>> prompts;
  if (as_ids) {
    for (size_t i = 0; i < count; ++i) {
      if (r.prompt_ids[i].empty()) throw ConfigError(origin(i), key(i), which(i) + " has no token ids");
      for (const auto id : r.prompt_ids[i])
        if (id < 0 || id >= s.model->vocab_size())
          throw ConfigError(origin(i), key(i),
                            std::to_string(id) + " is outside the model's vocabulary (0.." +
                                std::to_string(s.model->vocab_size() - 1) + ")");
      prompts.push_back(r.prompt_ids[i]);
    }
  } else {
    if (!s.tokenizer)
      throw ConfigError(kCli, "--prompt",
                        "text needs the model's tokenizer, and none comes with it (no tokenizer.json" +
                            std::string(r.hf.empty() ? " in the run's data.path" : " in " + r.hf) +
                            "); give --prompt-ids instead");
    for (size_t i = 0; i < count; ++i) {
      const auto& text = r.prompts[i];
      // With the template's specials, as transformers' tokenizer(text) (Llama's BOS; none for GPT-2).
      const auto ids = data::encode_for_model(*s.tokenizer, text, std::nullopt, {}).ids;
      if (ids.empty()) throw ConfigError(origin(i), key(i), "'" + text + "' encodes to no tokens");
      prompts.emplace_back(ids.begin(), ids.end());
    }
  }
  // Rotary models report no position limit (max_positions 0); their configured context
  // (n_positions, max_position_embeddings) bounds generation all the same.
  const auto* gpt = dynamic_cast<const models::GptImpl*>(s.model.get());
  const int64_t context = gpt ? gpt->options().n_positions : s.model->max_positions();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const int64_t n = static_cast<int64_t>(prompts[i].size());
    if (context > 0 && n > context)
      throw ConfigError(origin(i), key(i),
                        which(i) + " has " + std::to_string(n) + " tokens, longer than the model's context of " +
                            std::to_string(context) + " positions (" + s.context_key + ")");
    if (context > 0 && n + options.max_new_tokens > context)
      throw ConfigError(origin(i), "--max-new-tokens",
                        std::to_string(options.max_new_tokens) + " new tokens after " + which(i) + "'s " +
                            std::to_string(n) + " exceed the model's context of " + std::to_string(context) +
                            " positions (" + s.context_key + ")");
  }

  set_threads(r.threads);
  const torch::Device device(resolve_device(r.device));
  s.model->to(device);
  std::vector<nlohmann::json> out;
  models::GenerateStats total;
  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, r.batch_size));
  for (size_t first = 0; first < prompts.size(); first += batch) {
    const std::vector<std::vector<int64_t>> group(
        prompts.begin() + static_cast<std::ptrdiff_t>(first),
        prompts.begin() + static_cast<std::ptrdiff_t>(std::min(prompts.size(), first + batch)));
    models::GenerateStats stats;
    const auto results = models::generate_batch(*s.model, group, options, device, &stats);
    const double seconds = stats.prefill_seconds + stats.decode_seconds;
    const int64_t batch_new = stats.decode_tokens + (options.max_new_tokens > 0 ? int64_t(group.size()) : 0);
    for (size_t i = 0; i < group.size(); ++i) {
      const auto& ids = results[i];
      const auto& p = group[i];
      nlohmann::json j = {{"ids", ids},
                          {"prompt_tokens", p.size()},
                          {"new_tokens", ids.size() - p.size()},
                          {"seconds", seconds},
                          {"tokens_per_s", rate(batch_new, seconds)},
                          {"prefill_tokens_per_s", rate(stats.prefill_tokens, stats.prefill_seconds)},
                          {"decode_tokens_per_s", rate(stats.decode_tokens, stats.decode_seconds)}};
      if (s.tokenizer) {
        const std::vector<int32_t> generated(ids.begin() + static_cast<std::ptrdiff_t>(p.size()), ids.end());
        // Bytes that end inside a character read as U+FFFD, as in transformers' decode (the
        // GPT-2 byte-level decoder hands them over raw, which JSON cannot hold).
        j["text"] = s.tokenizer->decode(generated);
      }
      out.push_back(std::move(j));
    }
    total.prefill_tokens += stats.prefill_tokens;
    total.prefill_seconds += stats.prefill_seconds;
    total.decode_tokens += stats.decode_tokens;
    total.decode_seconds += stats.decode_seconds;
  }
  log::info("generate: " + std::to_string(prompts.size()) + " prompt(s), batches of up to " + std::to_string(batch) +
            (options.kv_cache ? ", key/value cache" : ", no cache") + "; prefill " +
            std::to_string(total.prefill_tokens) + " prompt tokens in " + fixed(total.prefill_seconds, 3) + " s (" +
            fixed(rate(total.prefill_tokens, total.prefill_seconds), 1) + " tokens/s); decode " +
            std::to_string(total.decode_tokens) + " tokens in " + fixed(total.decode_seconds, 3) + " s (" +
            fixed(rate(total.decode_tokens, total.decode_seconds), 1) + " tokens/s)");
  return out;
}

}  // namespace ptm::recipes
