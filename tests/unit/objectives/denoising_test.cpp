// Denoising objectives on models: the MLM loss on a hand-built 2x6 example, corrupted batches
// for encoders and decoders (targets, prefix marks, UL2 mode tokens), the GPT prefix-LM mask,
// ELECTRA's labels and gradients, position prediction.
#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/bert.h"
#include "ptm/models/electra.h"
#include "ptm/models/gpt.h"
#include "ptm/objectives/denoising.h"
#include "ptm/objectives/electra_objective.h"

using namespace ptm;
using namespace ptm::objectives;

namespace {

// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 [unused0]=5 [unused1]=6, then words; V = 24.
std::string tiny_vocab(const test::TempDir& dir) {
  std::string text = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[unused0]\n[unused1]\n";
  for (const char* w : {"the", "cat", "sat", "on", "mat", "##s", "##ed", "a", "dog", "ran", "to", "park", "and", "it",
                        "was", "good", "day"})
    text += std::string(w) + "\n";
  return dir.write("vocab.txt", text);
}

DenoisingOptions options(const std::string& vocab, const std::string& mode, double rate = 0.3) {
  DenoisingOptions o;
  o.tokenizer = vocab;
  DenoiserSpec d;
  d.corruption.mode = mode;
  d.corruption.rate = rate;
  d.corruption.mask_prob = 1.0;
  d.corruption.random_prob = 0.0;
  o.denoisers.push_back(d);
  return o;
}

data::Batch lm_batch(int64_t B, int64_t T, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto seq = torch::randint(7, 24, {B, T + 1}, gen, torch::kLong);
  data::Batch b;
  b.input_ids = seq.narrow(1, 0, T).contiguous();
  b.targets = seq.narrow(1, 1, T).contiguous();
  return b;
}

}  // namespace

TEST_CASE("MLM loss on a hand-built 2x6 example equals the hand-computed value", "[unit][objectives]") {
  test::TempDir tmp;
  Denoising obj(options(tiny_vocab(tmp), "masked"));
  const int64_t V = 24;
  auto logits = torch::zeros({2, 6, V});
  logits[0][1][7] = std::log(3.0);  // p(7) = 3 / (V + 2)
  data::Batch b;
  b.input_ids = torch::zeros({2, 6}, torch::kLong);
  b.targets = torch::full({2, 6}, kIgnoreIndex, torch::kLong);
  b.targets[0][1] = 7;  // predicted: -log(3 / 26)
  b.targets[1][4] = 8;  // uniform: -log(1 / 24)
  models::ModelOutput out;
  out.logits = logits;
  const auto p = obj.compute(out, b);
  const double expected = -std::log(3.0 / (V + 2)) - std::log(1.0 / V);  // 2.1581 + 3.1781
  CHECK(p.loss_sum.item<double>() == Approx(expected).epsilon(1e-6));
  CHECK(p.targets.item<int64_t>() == 2);
  CHECK(p.sums.at("mlm_accuracy").item<int64_t>() == 1);  // argmax 7 right, argmax 0 (ties) wrong
}

TEST_CASE("encoder batches keep targets at corrupted positions only", "[unit][objectives]") {
  test::TempDir tmp;
  Denoising obj(options(tiny_vocab(tmp), "masked", 0.2));
  auto b = lm_batch(64, 32, 1);
  b.attention_mask = torch::ones({64, 32}, torch::kLong);
  b.attention_mask.narrow(1, 28, 4).fill_(0);
  const auto p = obj.prepare(b, false);
  const auto predicted = p.targets != kIgnoreIndex;
  CHECK(p.targets.masked_select(predicted).equal(b.input_ids.masked_select(predicted)));
  CHECK((p.input_ids == 4).equal(predicted));  // mask_prob 1
  CHECK_FALSE(predicted.narrow(1, 28, 4).any().item<bool>());  // padding
  CHECK(p.input_ids.masked_select(predicted.logical_not()).equal(b.input_ids.masked_select(predicted.logical_not())));
  // Evaluation corruption is reproducible; count_targets agrees with the loss's batch.
  CHECK(obj.prepare(b, false).input_ids.equal(p.input_ids));
  const auto n = obj.count_targets(b).item<int64_t>();
  CHECK(n == (obj.prepared(b, true).targets != kIgnoreIndex).sum().item<int64_t>());
}

TEST_CASE("decoder batches predict the next token of corrupted positions or of the suffix", "[unit][objectives]") {
  test::TempDir tmp;
  const auto vocab = tiny_vocab(tmp);
  const auto b = lm_batch(32, 16, 2);
  const auto seq = torch::cat({b.input_ids, b.targets.narrow(1, 15, 1)}, 1);  // [B, 17]
  SECTION("masked: the whole input is a bidirectional prefix") {
    Denoising obj(options(vocab, "masked"));
    obj.set_decoder(true);
    const auto p = obj.prepare(b, false);
    const auto next_masked = torch::cat({p.input_ids.narrow(1, 1, 15) == 4, torch::zeros({32, 1}, torch::kBool)}, 1);
    CHECK((p.targets != kIgnoreIndex).equal(next_masked));
    CHECK(p.targets.masked_select(next_masked).equal(seq.narrow(1, 1, 16).masked_select(next_masked)));
    CHECK((p.input_ids.select(1, 0) != 4).all().item<bool>());
    CHECK(p.token_type_ids.eq(1).all().item<bool>());
  }
  SECTION("prefix: bidirectional prefix, next-token targets after it") {
    Denoising obj(options(vocab, "prefix", 0.5));
    obj.set_decoder(true);
    const auto p = obj.prepare(b, false);
    CHECK(p.input_ids.equal(b.input_ids));
    for (int64_t r = 0; r < 32; ++r) {
      const int64_t prefix = p.token_type_ids[r].sum().item<int64_t>();
      REQUIRE(prefix >= 1);
      REQUIRE(prefix < 16);
      CHECK(p.token_type_ids[r].narrow(0, 0, prefix).eq(1).all().item<bool>());
      CHECK((p.targets[r].narrow(0, 0, prefix - 1) == kIgnoreIndex).all().item<bool>());
      CHECK(p.targets[r].narrow(0, prefix - 1, 17 - prefix).equal(b.targets[r].narrow(0, prefix - 1, 17 - prefix)));
    }
  }
  SECTION("UL2 mixture: each row starts with its denoiser's mode token") {
    auto o = options(vocab, "masked");
    o.denoisers[0].mode_token = "[unused0]";
    DenoiserSpec s;
    s.corruption.mode = "prefix";
    s.mode_token = "[unused1]";
    o.denoisers.push_back(s);
    Denoising obj(o);
    obj.set_decoder(true);
    const auto p = obj.prepare(b, false);
    const auto first = p.input_ids.select(1, 0);
    CHECK(((first == 5) | (first == 6)).all().item<bool>());
    CHECK((first == 5).any().item<bool>());
    CHECK((first == 6).any().item<bool>());
    const auto prefix_rows = first == 6;  // uncorrupted, shifted by the mode token
    CHECK(p.input_ids.index({prefix_rows}).narrow(1, 1, 15).equal(b.input_ids.index({prefix_rows}).narrow(1, 0, 15)));
    CHECK((p.targets.select(1, 0) == kIgnoreIndex).logical_or(p.targets.select(1, 0) == b.input_ids.select(1, 0))
              .all().item<bool>());
  }
}

TEST_CASE("gpt attends both ways inside the token_type_ids prefix only", "[unit][objectives]") {
  models::GptOptions o;
  o.vocab_size = 32;
  o.n_positions = 16;
  o.n_embd = 16;
  o.n_layer = 2;
  o.n_head = 2;
  torch::manual_seed(0);
  models::GptImpl gpt(o);
  gpt.eval();
  data::Batch b;
  b.input_ids = torch::arange(8, torch::kLong).view({1, 8}) + 3;
  b.token_type_ids = torch::tensor({1, 1, 1, 1, 0, 0, 0, 0}, torch::kLong).view({1, 8});
  const auto base = gpt.forward(b).logits;
  auto changed = b;
  changed.input_ids = b.input_ids.clone();
  changed.input_ids[0][6] = 20;  // a suffix token: nothing before it may see it
  CHECK(torch::allclose(gpt.forward(changed).logits.narrow(1, 0, 6), base.narrow(1, 0, 6)));
  changed.input_ids = b.input_ids.clone();
  changed.input_ids[0][2] = 20;  // a prefix token: the whole prefix sees it
  CHECK_FALSE(torch::allclose(gpt.forward(changed).logits.narrow(1, 0, 2), base.narrow(1, 0, 2)));
  models::ForwardOptions explicit_path;
  explicit_path.output_attentions = true;
  CHECK(torch::allclose(gpt.forward(b, explicit_path).logits, base, 1e-5, 1e-5));
  data::Batch causal = changed;
  causal.token_type_ids = torch::Tensor();  // plain causal: position 0 ignores position 2
  data::Batch causal_base = b;
  causal_base.token_type_ids = torch::Tensor();
  CHECK(torch::allclose(gpt.forward(causal).logits.narrow(1, 0, 2), gpt.forward(causal_base).logits.narrow(1, 0, 2)));
}

TEST_CASE("ELECTRA discriminator labels equal input != original", "[unit][objectives]") {
  test::TempDir tmp;
  ElectraObjectiveOptions eo;
  eo.masking = options(tiny_vocab(tmp), "masked", 0.3);
  ElectraObjective obj(eo);
  models::ElectraOptions mo;
  mo.discriminator.vocab_size = 24;
  mo.discriminator.hidden_size = 32;
  mo.discriminator.num_hidden_layers = 1;
  mo.discriminator.num_attention_heads = 2;
  mo.discriminator.intermediate_size = 64;
  mo.discriminator.max_position_embeddings = 32;
  mo.generator_hidden_size = 16;
  torch::manual_seed(0);
  models::ElectraImpl model(mo);
  obj.attach(model, torch::kCPU);
  auto b = lm_batch(16, 24, 3);
  b.attention_mask = torch::ones({16, 24}, torch::kLong);
  b.attention_mask.narrow(1, 20, 4).fill_(0);
  const auto s = obj.step(model, b, false);
  const auto real = b.attention_mask.to(torch::kBool);
  CHECK(s.labels.to(torch::kBool).equal((s.replaced_input != s.original) & real));
  const auto masked = s.masked.targets != kIgnoreIndex;
  CHECK(((s.replaced_input != s.original) & masked.logical_not()).sum().item<int64_t>() == 0);
  CHECK(s.labels.sum().item<double>() > 0);  // an untrained generator rarely guesses right
  const auto p = obj.score(s);
  CHECK(p.targets.item<int64_t>() == masked.sum().item<int64_t>());
  {
    // The generator's head scores the masked rows only: its loss equals cross entropy over the
    // logits of every position with the unmasked ones ignored (model in eval mode: no dropout).
    torch::NoGradGuard no_grad;
    model.eval();
    const auto s_eval = obj.step(model, b, false);
    const auto all = model.generator_logits(s_eval.masked, torch::arange(16 * 24));  // [B*T, V]
    REQUIRE(all.sizes() == torch::IntArrayRef({16 * 24, 24}));
    const auto full = torch::nn::functional::cross_entropy(
        all, s_eval.masked.targets.flatten(),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kSum));
    CHECK(obj.score(s_eval).sums.at("generator_loss").item<double>() == Approx(full.item<double>()).epsilon(1e-5));
    model.train();
  }
  p.loss_sum.backward();
  for (const auto& name : {"generator.encoder.layer.0.attention.self.query.weight",
                           "discriminator_predictions.dense_prediction.weight", "embeddings.word_embeddings.weight"}) {
    INFO(name);
    const auto g = model.named_parameters()[name].grad();
    REQUIRE(g.defined());
    CHECK(g.abs().sum().item<double>() > 0);
  }
  models::BertImpl bert_only([&] {
    auto o = mo.discriminator;
    o.head.type = "classification";
    return o;
  }());
  const auto report = bert_only.load_hf_state_dict(model.hf_state_dict(), false);
  CHECK(report.mismatched.empty());
  for (const auto& m : report.missing) CHECK((m.rfind("pooler", 0) == 0 || m.rfind("classifier", 0) == 0));
}

TEST_CASE("position prediction needs an encoder without position embeddings", "[unit][objectives]") {
  models::BertOptions o;
  o.vocab_size = 24;
  o.hidden_size = 16;
  o.num_hidden_layers = 1;
  o.num_attention_heads = 2;
  o.intermediate_size = 32;
  o.max_position_embeddings = 16;
  o.hidden_dropout_prob = 0;
  o.attention_probs_dropout_prob = 0;
  o.head.type = "token_classification";
  o.head.num_labels = 16;
  auto obj = make("position_prediction");
  models::BertImpl with_positions(o);
  CHECK(test::contains(test::error_of([&] { obj->attach(with_positions, torch::kCPU); }), "position_embeddings: false"));
  o.position_embeddings = false;
  models::BertImpl model(o);
  model.eval();
  obj->attach(model, torch::kCPU);
  CHECK(model.named_parameters().find("embeddings.position_embeddings.weight") == nullptr);
  auto b = lm_batch(2, 8, 4);
  const auto p = obj->loss(model, b, false);
  CHECK(p.targets.item<int64_t>() == 16);
  // Without positions the encoder is permutation-equivariant: it cannot tell positions apart
  // except through the tokens.
  data::Batch rev = b;
  rev.input_ids = b.input_ids.flip(1);
  CHECK(torch::allclose(model.forward(rev).logits.flip(1), model.forward(b).logits, 1e-5, 1e-5));
}

TEST_CASE("denoising scores the target rows only: the same loss and gradients as full logits", "[unit][objectives]") {
  test::TempDir tmp;
  const auto vocab = tiny_vocab(tmp);
  models::BertOptions bo;
  bo.vocab_size = 24;
  bo.hidden_size = 16;
  bo.num_hidden_layers = 1;
  bo.num_attention_heads = 2;
  bo.intermediate_size = 32;
  bo.max_position_embeddings = 16;
  bo.head.type = "mlm";
  models::GptOptions go;
  go.vocab_size = 24;
  go.n_positions = 16;
  go.n_embd = 16;
  go.n_layer = 1;
  go.n_head = 2;
  torch::manual_seed(8);
  std::vector<std::shared_ptr<models::ModelImpl>> cases = {std::make_shared<models::BertImpl>(bo),
                                                           std::make_shared<models::GptImpl>(go)};
  for (auto& model : cases) {
    CAPTURE(model->arch());
    model->eval();
    Denoising obj(options(vocab, "masked", 0.3));
    obj.attach(*model, torch::kCPU);
    const auto raw = lm_batch(4, 12, 9);
    const auto rows = obj.loss(*model, raw, false);  // head on the rows with targets
    const auto b = obj.prepared(raw, false);        // evaluation corruption is reproducible
    const auto full = obj.compute(model->forward(b), b);
    REQUIRE(full.targets.item<int64_t>() > 0);
    CHECK(rows.targets.item<int64_t>() == full.targets.item<int64_t>());
    CHECK(rows.loss_sum.item<double>() == Approx(full.loss_sum.item<double>()).epsilon(1e-5));
    CHECK(rows.sums.at("mlm_accuracy").item<int64_t>() == full.sums.at("mlm_accuracy").item<int64_t>());
    rows.loss_sum.backward();
    std::map<std::string, torch::Tensor> grads;
    for (const auto& p : model->named_parameters()) {
      grads[p.key()] = p.value().grad().clone();
      p.value().mutable_grad().zero_();
    }
    full.loss_sum.backward();
    for (const auto& p : model->named_parameters()) {
      CAPTURE(p.key());
      CHECK(torch::allclose(p.value().grad(), grads[p.key()], 1e-4, 1e-6));
    }
  }
}
