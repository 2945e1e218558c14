// The tokenizer, label and generation files of an HF export (hf_export_files.h).
#include "ptm/recipes/hf_export_files.h"

#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/data/idx_images.h"
#include "ptm/data/text_classification.h"
#include "ptm/data/token_classification.h"
#include "ptm/data/tokenizer.h"

namespace fs = std::filesystem;

namespace ptm::recipes {
namespace {

std::string scalar(const config::Node& n, const std::string& key, const std::string& otherwise = "") {
  const auto* v = n.find(key);
  return v && v->is_scalar() ? v->text() : otherwise;
}

std::vector<std::string> strings(const config::Node& n, const std::string& key) {
  std::vector<std::string> out;
  if (const auto* v = n.find(key); v && v->is_sequence())
    for (const auto& item : v->items())
      if (item.is_scalar()) out.push_back(item.text());
  return out;
}

// The tokenizer.json a tokenizer path names (the file, or the one in its folder); empty for
// the other formats (vocab.txt, vocab.json + merges.txt).
std::string tokenizer_json_of(const std::string& path) {
  if (fs::is_directory(path)) return fs::exists(fs::path(path) / "tokenizer.json") ? path + "/tokenizer.json" : "";
  const fs::path p(path);
  return p.extension() == ".json" && p.filename() != "vocab.json" ? path : "";
}

// transformers' names for the special tokens of the vocabularies ptm reads and trains, first
// match wins (GPT-2's <|endoftext|> begins and ends texts).
const std::vector<std::pair<const char*, const char*>>& roles() {
  static const std::vector<std::pair<const char*, const char*>> r = {
      {"[UNK]", "unk_token"},           {"[SEP]", "sep_token"},         {"[PAD]", "pad_token"},
      {"[CLS]", "cls_token"},           {"[MASK]", "mask_token"},       {"<unk>", "unk_token"},
      {"<pad>", "pad_token"},           {"<mask>", "mask_token"},       {"<s>", "bos_token"},
      {"</s>", "eos_token"},            {"<|begin_of_text|>", "bos_token"}, {"<|end_of_text|>", "eos_token"},
      {"<|endoftext|>", "bos_token"},   {"<|endoftext|>", "eos_token"},
  };
  return r;
}

nlohmann::ordered_json special_tokens_map(const data::Tokenizer& tok) {
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (const auto& [token, role] : roles())
    if (!m.contains(role) && tok.token_to_id(token)) m[role] = token;
  // Without a pad token ptm pads with its end-of-text token (tokenizer.h); batches in
  // transformers then pad the same way.
  if (!m.contains("pad_token") && tok.is_special(tok.pad_id())) m["pad_token"] = tok.id_to_token(tok.pad_id());
  return m;
}

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(fs_util::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": not valid JSON (" + e.what() + ")");
  }
}

bool copy_if_there(const fs::path& from, const std::string& dir) {
  if (!fs::is_regular_file(from)) return false;
  fs::copy_file(from, fs::path(dir) / from.filename(), fs::copy_options::overwrite_existing);
  return true;
}

// The tokenizer files; returns the special tokens by role (bos_token, eos_token, ...).
nlohmann::json write_tokenizer(const std::string& dir, const std::string& source, const nlohmann::json& config) {
  const auto tok = data::load_tokenizer(source);  // what the run's data encoded with
  const std::string json_file = tokenizer_json_of(source);
  if (!json_file.empty())
    fs::copy_file(json_file, dir + "/tokenizer.json", fs::copy_options::overwrite_existing);
  else
    fs_util::write_file_atomic(dir + "/tokenizer.json", tok->to_hf_json());
  const auto specials = special_tokens_map(*tok);
  // A tokenizer from a Hugging Face folder keeps that folder's settings (BertTokenizer's
  // lower-casing, model_max_length) and special tokens.
  const fs::path home = fs::is_directory(source) ? fs::path(source) : fs::path(source).parent_path();
  if (copy_if_there(home / "tokenizer_config.json", dir)) {
    copy_if_there(home / "special_tokens_map.json", dir);
    copy_if_there(home / "vocab.txt", dir);
  } else {
    nlohmann::ordered_json tc = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                                 {"clean_up_tokenization_spaces", false}};
    for (const char* key : {"n_positions", "max_position_embeddings"})
      if (config.contains(key) && config[key].is_number_integer()) tc["model_max_length"] = config[key];
    for (const auto& [role, token] : specials.items()) tc[role] = token;
    fs_util::write_file_atomic(dir + "/tokenizer_config.json", tc.dump(2) + "\n");
    fs_util::write_file_atomic(dir + "/special_tokens_map.json", specials.dump(2) + "\n");
  }
  nlohmann::json ids = nlohmann::json::object();
  for (const auto& [role, token] : specials.items()) ids[role] = *tok->token_to_id(token.get<std::string>());
  return ids;
}

bool is_causal_lm(const nlohmann::json& config) {
  const auto type = config.value("model_type", std::string());
  return type == "gpt2" || type == "llama" || type == "mistral";
}

}  // namespace

DataExtras data_extras(const config::Node& resolved) {
  DataExtras e;
  const auto* data = resolved.find("data");
  if (!data || !data->is_map()) return e;
  if (scalar(*data, "type") == "task_mixture") {  // its sources agree on tokenizer and labels: the first's
    const auto* sources = data->find("sources");
    data = sources && sources->is_sequence() && !sources->items().empty() ? &sources->items()[0] : nullptr;
    if (!data || !data->is_map()) return e;
  }
  const std::string type = scalar(*data, "type");
  if (type == "tokens") {
    const std::string path = scalar(*data, "path");
    if (!path.empty() && fs::exists(path + "/tokenizer.json")) e.tokenizer = path + "/tokenizer.json";
  } else if (type == "text_classification") {
    e.tokenizer = scalar(*data, "tokenizer");
    data::TextClassificationOptions o;
    o.train = scalar(*data, "train");
    o.text_field = scalar(*data, "text_field", o.text_field);
    o.pair_field = scalar(*data, "pair_field", o.pair_field);
    o.label_field = scalar(*data, "label_field", o.label_field);
    o.labels = strings(*data, "labels");
    o.label_type = scalar(*data, "label_type", o.label_type);
    e.labels = data::class_names(o);
  } else if (type == "token_classification") {
    e.tokenizer = scalar(*data, "tokenizer");
    data::TokenClassificationOptions o;
    o.train = scalar(*data, "train");
    o.labels = strings(*data, "labels");
    e.labels = data::tag_names(o);
  } else if (type == "idx_images") {
    e.labels = strings(*data, "labels");
    const data::IdxImagesOptions defaults;  // the recipe's values, else the data set's defaults
    e.image_mean = std::stod(scalar(*data, "mean", std::to_string(defaults.mean)));
    e.image_std = std::stod(scalar(*data, "std", std::to_string(defaults.std)));
  }
  return e;
}

void write_hf_extras(const std::string& dir, const DataExtras& extras) {
  const std::string config_path = dir + "/config.json";
  auto config = read_json(config_path);
  const auto specials = extras.tokenizer.empty() ? nlohmann::json::object() : write_tokenizer(dir, extras.tokenizer, config);

  // ptm's own image formats count classes in num_classes; transformers' read id2label.
  if (!extras.labels.empty() && !config.contains("id2label") && config.contains("num_classes") &&
      config["num_classes"] == extras.labels.size()) {
    config["id2label"] = nlohmann::json::object();
    for (size_t i = 0; i < extras.labels.size(); ++i) config["id2label"][std::to_string(i)] = "LABEL_" + std::to_string(i);
  }
  if (!extras.labels.empty() && config.contains("id2label")) {
    if (config["id2label"].size() == extras.labels.size()) {
      nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
      for (size_t i = 0; i < extras.labels.size(); ++i) {
        id2label[std::to_string(i)] = extras.labels[i];
        label2id[extras.labels[i]] = i;
      }
      config["id2label"] = id2label;
      config["label2id"] = label2id;
    } else {
      log::warn("export: the data names " + std::to_string(extras.labels.size()) + " labels, the model has " +
                std::to_string(config["id2label"].size()) + " outputs; config.json keeps LABEL_0, LABEL_1, ...");
    }
  }

  if (config.value("model_type", std::string()) == "vit" && extras.image_mean && extras.image_std) {
    // Pixels / 255, resized to the model's size, then normalised per channel as the data set was.
    const auto channels = static_cast<size_t>(config.value("num_channels", 3));
    const int64_t size = config.value("image_size", int64_t{224});
    const nlohmann::ordered_json processor = {
        {"image_processor_type", "ViTImageProcessor"},
        {"do_resize", true},
        {"size", {{"height", size}, {"width", size}}},
        {"resample", 2},  // bilinear
        {"do_rescale", true},
        {"rescale_factor", 1.0 / 255.0},
        {"do_normalize", true},
        {"image_mean", std::vector<double>(channels, *extras.image_mean)},
        {"image_std", std::vector<double>(channels, *extras.image_std)}};
    fs_util::write_file_atomic(dir + "/preprocessor_config.json", processor.dump(2) + "\n");
  }

  if (is_causal_lm(config)) {
    // config.json's ids where it has them (GPT-2's 50256), else the tokenizer's specials.
    nlohmann::json generation = nlohmann::json::object();
    for (const char* key : {"bos_token_id", "eos_token_id"}) {
      const std::string role = std::string(key).substr(0, 3) + "_token";
      if ((!config.contains(key) || config[key].is_null()) && specials.contains(role)) config[key] = specials[role];
      if (config.contains(key) && !config[key].is_null()) generation[key] = config[key];
    }
    if (specials.contains("pad_token"))
      generation["pad_token_id"] = specials["pad_token"];
    else if (generation.contains("eos_token_id"))  // Llama 3 lists several
      generation["pad_token_id"] =
          generation["eos_token_id"].is_array() ? generation["eos_token_id"][0] : generation["eos_token_id"];
    if (!generation.empty())  // nothing to say without a tokenizer or ids in config.json
      fs_util::write_file_atomic(dir + "/generation_config.json", generation.dump(2) + "\n");
  }
  fs_util::write_file_atomic(config_path, config.dump(2) + "\n");
}

}  // namespace ptm::recipes
