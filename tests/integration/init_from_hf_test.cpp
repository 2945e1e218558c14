// `init_from: {hf: DIR}` with a model: section: config.json describes the model and the
// section's keys are laid over it, as from_pretrained(DIR, num_labels=...) does. A new head
// and dropout apply; a width, depth, head count, vocabulary or model type other than
// config.json's is refused (exit 2) naming the key, the recipe's value and config.json's.
#include <filesystem>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/bert.h"
#include "ptm/recipes/recipe.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::run_ptm;

namespace {

void require_minilm() {
  const std::string data = ptm::test::data_dir();
  if (!fs::exists(data + "/models/minilm/config.json") || !fs::exists(data + "/reviews/train.tsv"))
    FAIL("missing " << data << "/models/minilm or reviews: run scripts/get-data.sh");
}

}  // namespace

TEST_CASE("init_from.hf with model: keys takes a new head and dropout over config.json", "[integration][init_from]") {
  require_minilm();
  ptm::test::TempDir tmp;
  // No type and no sizes: config.json (MiniLM, BertModel) gives them.
  const std::string recipe = tmp.write("r.yaml", R"(run: {name: head3, device: cpu}
init_from: {hf: data/models/minilm}
model: {head: classification, num_labels: 3, hidden_dropout_prob: 0.2}
data: {type: text_classification, train: data/reviews/train.tsv, tokenizer: data/models/minilm/tokenizer.json}
)");
  ptm::recipes::RecipeSource src;
  src.path = recipe;
  const auto r = ptm::recipes::load(src);
  REQUIRE(r.model);
  const auto bert = std::dynamic_pointer_cast<ptm::models::BertImpl>(r.model());
  REQUIRE(bert);
  const auto& o = bert->options();
  CHECK(o.hidden_size == 384);  // config.json's
  CHECK(o.num_hidden_layers == 6);
  CHECK(o.intermediate_size == 1536);
  CHECK(o.attention_probs_dropout_prob == Approx(0.1));
  CHECK(o.hidden_dropout_prob == Approx(0.2));  // the recipe's
  CHECK(o.head.type == "classification");
  CHECK(o.head.num_labels == 3);
  // config.yaml records the model it built.
  const auto printed = run_ptm("config --config " + recipe);
  INFO(printed.err);
  REQUIRE(printed.exit_code == 0);
  CHECK(contains(printed.out, "hidden_size: 384"));
  CHECK(contains(printed.out, "num_labels: 3"));

  // The recipe's preset restates config.json's sizes: accepted as they are.
  CHECK(run_ptm("validate --config recipes/finetune/minilm_sentiment.yaml model.num_labels=5 "
                "model.attention_probs_dropout_prob=0").exit_code == 0);
  // A student from every 2nd layer: the depth follows init_from.layers.
  CHECK(run_ptm("validate --config recipes/finetune/minilm_sentiment.yaml model.num_hidden_layers=3 "
                "'init_from.layers=[0,2,4]'").exit_code == 0);
}

TEST_CASE("init_from.hf refuses model: keys that change the weights' shapes, naming both values",
          "[integration][init_from]") {
  require_minilm();
  struct Case {
    std::string overrides, key, ours, theirs;
  };
  const std::vector<Case> cases = {
      {"model.hidden_size=256", "model.hidden_size", "256", "hidden_size: 384"},
      {"model.num_hidden_layers=4", "model.num_hidden_layers", "4", "num_hidden_layers: 6"},
      {"model.num_attention_heads=6", "model.num_attention_heads", "6", "num_attention_heads: 12"},
      {"model.vocab_size=1000", "model.vocab_size", "1000", "vocab_size: 30522"},
      {"model.intermediate_size=768", "model.intermediate_size", "768", "intermediate_size: 1536"},
  };
  for (const auto& c : cases) {
    const auto r = run_ptm("validate --config recipes/finetune/minilm_sentiment.yaml " + c.overrides);
    INFO(c.overrides << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, c.key + ": " + c.ours + " contradicts data/models/minilm/config.json (" + c.theirs + ")"));
  }
  const auto r = run_ptm("validate --config recipes/finetune/minilm_sentiment.yaml model.type=gpt");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "model.type: 'gpt' contradicts data/models/minilm/config.json (BertModel, a bert model)"));

  // A GPT folder: ptm's own export, the GPT-2 names.
  ptm::test::TempDir tmp;
  REQUIRE(run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + tmp.file("run") +
                  " train.max_steps=1")
              .exit_code == 0);
  REQUIRE(run_ptm("export --format hf --from " + tmp.file("run") + " --out " + tmp.file("hf")).exit_code == 0);
  const std::string gpt = "validate --config tests/fixtures/recipes/pretrain_gpt_small.yaml init_from.hf=" + tmp.file("hf");
  CHECK(run_ptm(gpt + " model.resid_pdrop=0.1").exit_code == 0);
  const auto wide = run_ptm(gpt + " model.n_embd=64");
  CHECK(wide.exit_code == 2);
  CHECK(contains(wide.err, "model.n_embd: 64 contradicts " + tmp.file("hf") + "/config.json (n_embd: 32)"));
  const auto llama = run_ptm(gpt + " model.norm=rmsnorm");
  CHECK(llama.exit_code == 2);
  CHECK(contains(llama.err, "model.norm: rmsnorm contradicts " + tmp.file("hf") +
                                "/config.json (GPT2LMHeadModel norm: layernorm)"));
}

TEST_CASE("a Hugging Face folder whose config.json contradicts its weights exits 2 naming the file and the key",
          "[integration][init_from]") {
  ptm::test::TempDir tmp;
  REQUIRE(run_ptm("pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " + tmp.file("run") +
                  " train.max_steps=1")
              .exit_code == 0);
  REQUIRE(run_ptm("export --format hf --from " + tmp.file("run") + " --out " + tmp.file("hf")).exit_code == 0);
  const std::string config = ptm::test::read_text(tmp.file("hf/config.json"));
  const auto at = config.find("\"vocab_size\": 300");
  REQUIRE(at != std::string::npos);
  tmp.write("hf/config.json", config.substr(0, at) + "\"vocab_size\": 320" + config.substr(at + 17));
  const std::string line = tmp.file("hf/config.json") + ": vocab_size is 320, but the weights' transformer.wte.weight is [300, 32]";
  for (const auto& args : {"generate --hf " + tmp.file("hf") + " --prompt-ids 1,2 --max-new-tokens 1",
                           "pretrain --config tests/fixtures/recipes/pretrain_gpt_small.yaml --run-dir " +
                               tmp.file("again") + " ~model init_from.hf=" + tmp.file("hf")}) {
    const auto r = run_ptm(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, line));
  }
}
