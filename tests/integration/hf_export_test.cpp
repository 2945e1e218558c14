// `ptm export --format hf` writes a folder that transformers' pipelines use as it is: a
// MiniLM fine-tuned on the reviews gives the data's label names and ptm's scores under
// pipeline("text-classification"), its written tokenizer.json gives ptm's ids; a GPT
// pretrained on Jane Austen with ptm's BPE continues a prompt under
// pipeline("text-generation") exactly as ptm generate does, greedy; a ViT trained on
// Fashion-MNIST classifies images under pipeline("image-classification") with the recipe's
// class names and ptm's scores.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/data/text_records.h"
#include "ptm/data/tokenizer.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

int python(const std::string& args, const ptm::test::TempDir& d) {
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/hf_export_pipeline.py' " + args + " >/dev/null 2>>'" + d.file("py_err.txt") +
                          "'";
  return WEXITSTATUS(std::system(cmd.c_str()));
}

std::vector<nlohmann::json> jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
  return out;
}

}  // namespace

TEST_CASE("a fine-tuned MiniLM export gives ptm's labels and scores under pipeline text-classification",
          "[integration][export]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  const std::string data = ptm::test::data_dir();
  if (!fs::exists(data + "/models/minilm/model.safetensors") || !fs::exists(data + "/reviews/test.tsv"))
    FAIL("missing " << data << "/models/minilm or reviews: run scripts/get-data.sh");
  ptm::test::TempDir tmp;
  // The validation split: the first 24 test reviews, in file order (predictions.jsonl's order).
  std::ifstream test(data + "/reviews/test.tsv");
  std::string texts, line;
  for (int i = 0; i < 25 && std::getline(test, line); ++i) texts += line + "\n";
  const std::string val = tmp.write("val.tsv", texts);
  // The tokenizer as vocab.txt: the export writes tokenizer.json itself.
  const std::string run = tmp.file("run");
  auto r = run_ptm("finetune --config recipes/finetune/minilm_sentiment.yaml --run-dir " + run +
                   " train.max_steps=4 train.batch_size=8 data.max_length=48 train.eval_every=4 train.eval_batches=100"
                   " train.save_every=0 data.val_fraction=0 'data.test=\"\"' data.val=" + val +
                   " data.tokenizer=data/models/minilm/vocab.txt");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string hf = tmp.file("hf");
  r = run_ptm("export --format hf --from " + run + " --out " + hf);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                        "special_tokens_map.json"})
    CHECK(fs::exists(hf + "/" + f));
  CHECK_FALSE(fs::exists(hf + "/generation_config.json"));
  const auto config = nlohmann::json::parse(read_text(hf + "/config.json"));
  // The data's labels, sorted ("great" < "other"), as the run numbered them.
  CHECK(config["id2label"] == nlohmann::json({{"0", "great"}, {"1", "other"}}));
  CHECK(config["label2id"] == nlohmann::json({{"great", 0}, {"other", 1}}));

  REQUIRE(python("classify '" + hf + "' '" + val + "' 48 '" + tmp.file("pipe.json") + "'", tmp) == 0);
  const auto pipe = nlohmann::json::parse(read_text(tmp.file("pipe.json")));
  const auto predictions = jsonl(run + "/predictions.jsonl");
  const auto records = ptm::data::read_text_records(val, ptm::data::TextFields{});
  REQUIRE(predictions.size() == 24);
  REQUIRE(pipe["labels"].size() == 24);
  const auto tok = ptm::data::load_tokenizer(data + "/models/minilm/vocab.txt");
  ptm::data::EncodeOptions eo;
  eo.max_length = 48;
  const std::vector<std::string> names = {"great", "other"};
  for (size_t i = 0; i < 24; ++i) {
    INFO("review " << i << ": " << records[i].text);
    const auto enc = ptm::data::encode_for_model(*tok, records[i].text, std::nullopt, eo);
    CHECK(pipe["ids"][i].get<std::vector<int32_t>>() == enc.ids);
    const auto p = predictions[i]["probabilities"].get<std::vector<double>>();
    const int64_t k = predictions[i]["prediction"].get<int64_t>();
    CHECK(pipe["labels"][i] == names[k]);
    CHECK(pipe["scores"][i].get<double>() == Approx(p[k]).margin(1e-4));
  }
}

TEST_CASE("a GPT export continues a prompt under pipeline text-generation as ptm generate does",
          "[integration][export]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  REQUIRE(ptm::test::prepare_data("janeausten_bpe8k", "recipes/data/janeausten_bpe.yaml") == "");
  ptm::test::TempDir tmp;
  const std::string run = tmp.file("run");
  auto r = run_ptm("pretrain --config recipes/pretrain/gpt_tiny.yaml --run-dir " + run +
                   " run.device=cpu train.max_steps=30 train.batch_size=4 data.seq_len=64 model.n_positions=64"
                   " model.n_layer=2 train.eval_every=0 train.eval_batches=1 train.save_every=0");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string hf = tmp.file("hf");
  r = run_ptm("export --format hf --from " + run + " --out " + hf);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"})
    CHECK(fs::exists(hf + "/" + f));
  // The BPE's <|endoftext|> (id 0) ends texts; GPT-2's 50256 is not in this vocabulary.
  const auto generation = nlohmann::json::parse(read_text(hf + "/generation_config.json"));
  CHECK(generation["eos_token_id"] == 0);
  CHECK(nlohmann::json::parse(read_text(hf + "/config.json"))["eos_token_id"] == 0);

  const std::string prompt = "It is a truth universally acknowledged, that";
  r = run_ptm("generate --from " + run + " --prompt '" + prompt + "' --max-new-tokens 24 --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto ours = nlohmann::json::parse(r.out);
  REQUIRE(python("generate '" + hf + "' '" + prompt + "' 24 '" + tmp.file("pipe.json") + "'", tmp) == 0);
  const auto pipe = nlohmann::json::parse(read_text(tmp.file("pipe.json")));
  CHECK(pipe["ids"] == ours["ids"]);
  CHECK(pipe["text"] == ours["text"]);
  CHECK(ours["new_tokens"].get<int64_t>() > 0);
}

TEST_CASE("a token classification export names the data's tags and carries the tokenizer it was given",
          "[integration][export]") {
  const std::string data = ptm::test::data_dir();
  if (!fs::exists(data + "/models/minilm/model.safetensors"))
    FAIL("missing " << data << "/models/minilm: run scripts/get-data.sh");
  ptm::test::TempDir tmp;
  const std::string run = tmp.file("run");
  auto r = run_ptm("finetune --config recipes/finetune/minilm_ner_fixture.yaml --run-dir " + run +
                   " train.max_steps=1 train.batch_size=4 train.eval_every=0 train.eval_batches=1 train.save_every=0"
                   " 'data.test=\"\"'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("export --format hf --from " + run + " --out " + tmp.file("hf"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The tags of the training file (the last column), sorted: the ids the run gave them.
  std::set<std::string> tags;
  std::ifstream in("tests/fixtures/conll/train.conll");
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.rfind("-DOCSTART-", 0) != 0) tags.insert(line.substr(line.find_last_of(" \t") + 1));
  const auto config = nlohmann::json::parse(read_text(tmp.file("hf/config.json")));
  REQUIRE(config["id2label"].size() == tags.size());
  int64_t i = 0;
  for (const auto& tag : tags) {
    CHECK(config["id2label"][std::to_string(i)] == tag);
    CHECK(config["label2id"][tag] == i);
    ++i;
  }
  // The MiniLM folder's own tokenizer files, as they are.
  CHECK(read_text(tmp.file("hf/tokenizer.json")) == read_text(data + "/models/minilm/tokenizer.json"));
  CHECK(read_text(tmp.file("hf/tokenizer_config.json")) == read_text(data + "/models/minilm/tokenizer_config.json"));
}

TEST_CASE("a ViT export gives the recipe's class names and ptm's scores under pipeline image-classification",
          "[integration][export]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  const std::string data = ptm::test::data_dir();
  if (!fs::exists(data + "/fashion-mnist/t10k-images-idx3-ubyte"))
    FAIL("missing " << data << "/fashion-mnist: run scripts/get-data.sh");
  ptm::test::TempDir tmp;
  const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  // Without val_fraction the validation split is t10k in file order: predictions.jsonl's order.
  const std::string recipe = tmp.write("vit.yaml", "run: {name: vit_export, device: cpu, seed: 5}\n"
                                                   "model: {type: vit, image_size: 28, patch_size: 7, num_channels: 1,"
                                                   " hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4,"
                                                   " intermediate_size: 64, head: classification, num_labels: 10}\n"
                                                   "data: {type: idx_images, path: data/fashion-mnist, mean: 0.2860,"
                                                   " std: 0.3530, labels: [" + list + "]}\n"
                                                   "objective: {type: classification}\n"
                                                   "train: {max_steps: 6, batch_size: 16, eval_every: 6,"
                                                   " eval_batches: 2, save_every: 0, log_every: 3}\n"
                                                   "optimizer: {lr: 0.003}\n");
  const std::string run = tmp.file("run"), hf = tmp.file("hf");
  auto r = run_ptm("finetune --config " + recipe + " --run-dir " + run);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("export --format hf --from " + run + " --out " + hf);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto config = nlohmann::json::parse(read_text(hf + "/config.json"));
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(config["id2label"][std::to_string(i)] == names[i]);
    CHECK(config["label2id"][names[i]] == i);
  }
  REQUIRE(fs::exists(hf + "/preprocessor_config.json"));

  REQUIRE(python("images '" + hf + "' '" + data + "/fashion-mnist/t10k-images-idx3-ubyte' 32 '" +
                     tmp.file("pipe.json") + "'",
                 tmp) == 0);
  const auto pipe = nlohmann::json::parse(read_text(tmp.file("pipe.json")));
  const auto predictions = jsonl(run + "/predictions.jsonl");
  REQUIRE(predictions.size() == 32);
  REQUIRE(pipe["labels"].size() == 32);
  std::set<int64_t> predicted;
  for (size_t i = 0; i < 32; ++i) {
    INFO("image " << i);
    const auto p = predictions[i]["probabilities"].get<std::vector<double>>();
    const int64_t k = predictions[i]["prediction"].get<int64_t>();
    predicted.insert(k);
    CHECK(pipe["labels"][i] == names[k]);
    CHECK(pipe["scores"][i].get<double>() == Approx(p[k]).margin(1e-4));
  }
  CHECK(predicted.size() >= 2);  // a model that says one class for everything would prove little

  // Fewer names than the data has classes: exit 2 naming the labels file and the key.
  r = run_ptm("finetune --config " + recipe + " --run-dir " + tmp.file("few") + " 'data.labels=[Top, Trouser]'");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "labels-idx1-ubyte: data.labels: names 2 classes, but this file has labels up to 9"));

  // ptm's torchvision ResNet format counts classes in num_classes; the export names them too.
  r = run_ptm("finetune --config recipes/finetune/fashion_mnist_resnet18.yaml --run-dir " + tmp.file("resnet") +
              " train.max_steps=1 train.batch_size=4 train.eval_every=0 train.eval_batches=1 train.save_every=0");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_ptm("export --format hf --from " + tmp.file("resnet") + " --out " + tmp.file("resnet_hf"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto resnet = nlohmann::json::parse(read_text(tmp.file("resnet_hf/config.json")));
  for (size_t i = 0; i < names.size(); ++i) CHECK(resnet["id2label"][std::to_string(i)] == names[i]);
}
