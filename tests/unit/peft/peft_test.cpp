// PEFT on the unified view: LoRA and adapter hooks against hand-computed values, trainable
// counts against the closed form, freezing under optimizer steps, LoRA merge exactness,
// adapter-only files, prefix tuning and bias-only tuning.
#include <torch/torch.h>

#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/models/bert.h"
#include "ptm/models/gpt.h"
#include "ptm/peft/hooks.h"
#include "ptm/peft/peft.h"
#include "ptm/recipes/recipe.h"
#include "unit/models/bert_test_util.h"

using namespace ptm;
using ptm::test::bert::max_diff;
using ptm::test::bert::random_batch;
using ptm::test::bert::tiny_options;

namespace {

peft::PeftConfig method_config(const std::string& method) {
  peft::PeftConfig c;
  c.method = method;
  return c;
}

// A tiny BERT classifier with perturbed weights (seeded), in eval mode.
std::shared_ptr<models::BertImpl> tiny_bert(uint64_t seed, const std::string& head = "classification") {
  torch::manual_seed(seed);
  auto m = std::make_shared<models::BertImpl>(tiny_options(head));
  ptm::test::bert::perturb(*m, 0.05, seed);
  m->eval();
  return m;
}

data::Batch batch() { return random_batch({7, 5, 3}, 8, 300, 1, 11); }

void perturb_trainable(torch::nn::Module& m, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters())
    if (p.requires_grad()) p.add_(torch::randn_like(p) * 0.1);
}

}  // namespace

TEST_CASE("peft lora on a Linear is the base at init and W x + b + (alpha/r) B A x after", "[unit][peft]") {
  models::Linear lin(2, 2);
  {
    torch::NoGradGuard g;
    lin->weight.copy_(torch::tensor({{1.0, 2.0}, {3.0, 4.0}}));
    lin->bias.copy_(torch::tensor({0.5, -0.5}));
  }
  auto lora = std::make_shared<peft::LoraHook>(2, 2, /*rank=*/1, /*alpha=*/2.0, /*dropout=*/0.0);
  lin->add_hook(lora);
  const auto x = torch::tensor({{1.0, -1.0}}).to(torch::kFloat);
  CHECK(torch::equal(lin(x), torch::tensor({{-0.5, -1.5}}).to(torch::kFloat)));  // B = 0: unchanged
  {
    torch::NoGradGuard g;
    lora->lora_A->weight.copy_(torch::tensor({{2.0, 1.0}}));     // A x = 1
    lora->lora_B->weight.copy_(torch::tensor({{3.0}, {-1.0}}));  // B A x = [3, -1], scale 2
  }
  CHECK(max_diff(lin(x), torch::tensor({{5.5, -3.5}})) < 1e-6);
  const auto names = lin->named_parameters();
  CHECK(names.contains("lora_A.weight"));
  CHECK(names.contains("lora_B.weight"));
  CHECK(lin->remove_hooks("lora") == 1);
  CHECK(!lin->named_parameters().contains("lora_A.weight"));
}

TEST_CASE("peft adapters sequential and parallel match hand-computed values", "[unit][peft]") {
  models::Linear lin(1, 1);
  {
    torch::NoGradGuard g;
    lin->weight.fill_(2.0);
    lin->bias.fill_(1.0);
  }
  const auto x = torch::full({1, 1}, 3.0);  // W x + b = 7
  auto seq = std::make_shared<peft::AdapterHook>(1, 1, 1, /*parallel=*/false, 1.0, "relu");
  lin->add_hook(seq);
  CHECK(lin(x).item<double>() == 7.0);  // up = 0 at init
  {
    torch::NoGradGuard g;
    seq->adapter_down->weight.fill_(0.5);  // relu(0.5 * 7 - 1) = 2.5
    seq->adapter_down->bias.fill_(-1.0);
    seq->adapter_up->weight.fill_(2.0);  // 2 * 2.5 + 0.25 = 5.25
    seq->adapter_up->bias.fill_(0.25);
  }
  CHECK(lin(x).item<double>() == Approx(7.0 + 5.25));
  lin->remove_hooks("adapter");
  auto par = std::make_shared<peft::AdapterHook>(1, 1, 1, /*parallel=*/true, 4.0, "relu");
  lin->add_hook(par);
  {
    torch::NoGradGuard g;
    par->adapter_down->weight.fill_(1.0);  // relu(3 - 1) = 2 from x, not y
    par->adapter_down->bias.fill_(-1.0);
    par->adapter_up->weight.fill_(0.5);  // 0.5 * 2 = 1, times s = 4
    par->adapter_up->bias.fill_(0.0);
  }
  CHECK(lin(x).item<double>() == Approx(7.0 + 4.0));
}

TEST_CASE("peft lora r8 on a MiniLM-shaped bert trains the closed-form count under 2 percent", "[unit][peft]") {
  models::BertOptions o;  // MiniLM-L6: H 384, 6 layers, 12 heads, I 1536
  o.vocab_size = 30522;
  o.hidden_size = 384;
  o.num_hidden_layers = 6;
  o.num_attention_heads = 12;
  o.intermediate_size = 1536;
  o.head.type = "classification";
  o.head.num_labels = 2;
  models::BertImpl model(o);
  const int64_t base = models::count_parameters(model);
  auto c = method_config("lora");
  c.rank = 8;
  const auto r = peft::apply(c, model);
  const int64_t lora = 6 * 2 * 8 * (384 + 384);  // layers x {query, value} x r (in + out)
  const int64_t head = 384 * 2 + 2;              // classifier (modules_to_save)
  CHECK(r.targets.size() == 12);
  CHECK(r.total == base + lora);
  CHECK(r.trainable == lora + head);
  CHECK(models::count_parameters(model, true) == lora + head);
  CHECK(r.percent() < 2.0);
  CHECK(r.saved == std::vector<std::string>{"classifier"});
}

TEST_CASE("peft frozen weights stay unchanged after optimizer steps", "[unit][peft]") {
  auto model = tiny_bert(3);
  const auto r = peft::apply(method_config("lora"), *model);
  CHECK(r.trainable > 0);
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : model->named_parameters()) before[p.key()] = p.value().detach().clone();
  std::vector<torch::Tensor> params;
  for (const auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  model->train();
  auto b = batch();
  b.labels = torch::tensor({0, 2, 1});
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(b).logits, b.labels).backward();
    opt.step();
  }
  int changed = 0;
  for (const auto& p : model->named_parameters()) {
    const bool same = torch::equal(before[p.key()], p.value());
    if (p.value().requires_grad()) {
      changed += same ? 0 : 1;
    } else {
      INFO(p.key());
      CHECK(same);
    }
  }
  CHECK(changed == 4 * 2 + 2);  // lora_A/B of query and value in 2 layers, classifier weight and bias
  CHECK(!torch::equal(before["encoder.layer.0.attention.self.query.lora_B.weight"],
                      model->named_parameters()["encoder.layer.0.attention.self.query.lora_B.weight"]));
}

TEST_CASE("peft merge lora gives the unmerged logits within 1e-5 and plain tensors", "[unit][peft]") {
  auto bert = tiny_bert(5);
  peft::apply(method_config("lora"), *bert);
  perturb_trainable(*bert, 6);
  torch::NoGradGuard no_grad;
  const auto b = batch();
  const auto before = bert->forward(b).logits;
  CHECK(peft::merge_lora(*bert) == 4);
  CHECK(max_diff(before, bert->forward(b).logits) < 1e-5);
  for (const auto& [name, t] : bert->hf_state_dict()) CHECK(name.find("lora") == std::string::npos);

  torch::manual_seed(7);
  models::GptOptions go;
  go.vocab_size = 50;
  go.n_positions = 16;
  go.n_embd = 32;
  go.n_layer = 2;
  go.n_head = 4;
  models::GptImpl gpt(go);
  gpt.eval();
  auto c = method_config("lora");
  c.rank = 4;
  c.target_modules = {"c_attn", "mlp.c_fc"};
  CHECK(peft::apply(c, gpt).targets.size() == 4);
  perturb_trainable(gpt, 8);
  const auto ids = torch::randint(0, 50, {2, 9}, torch::kLong);
  const auto g_before = gpt.forward_ids(ids).logits;
  CHECK(peft::merge_lora(gpt) == 4);
  CHECK(max_diff(g_before, gpt.forward_ids(ids).logits) < 1e-5);
}

TEST_CASE("peft adapter-only files hold only PEFT tensors and load onto their base", "[unit][peft]") {
  ptm::test::TempDir dir;
  auto model = tiny_bert(9);
  const auto base_state = model->hf_state_dict();
  std::vector<std::pair<std::string, torch::Tensor>> base_copy;
  for (const auto& [n, t] : base_state) base_copy.emplace_back(n, t.clone());
  auto c = method_config("adapter");
  c.adapter_size = 8;
  c.adapter_mode = "parallel";
  c.adapter_scale = 2.0;
  peft::apply(c, *model);
  perturb_trainable(*model, 10);
  torch::NoGradGuard no_grad;
  const auto b = batch();
  const auto logits = model->forward(b).logits;
  peft::save_adapter(*model, c, dir.path());
  const auto saved = models::load_safetensors(dir.file("adapter_model.safetensors"));
  CHECK(saved.size() == 2 * 2 * 4 + 2);  // 2 layers x 2 places x (down, up) x (weight, bias) + classifier
  for (const auto& [name, t] : saved)
    CHECK((name.find(".adapter_") != std::string::npos || name.rfind("classifier.", 0) == 0));
  CHECK(ptm::test::contains(ptm::test::read_text(dir.file("adapter_config.json")), "\"ADAPTER\""));

  auto fresh = std::make_shared<models::BertImpl>(tiny_options("classification"));
  fresh->eval();
  REQUIRE(fresh->load_hf_state_dict(base_copy).ok());
  const auto loaded = peft::load_adapter(dir.path(), *fresh);
  CHECK(loaded.adapter_mode == "parallel");
  CHECK(torch::equal(logits, fresh->forward(b).logits));

  models::GptOptions go;
  go.vocab_size = 50;
  go.n_positions = 16;
  go.n_embd = 32;
  go.n_layer = 1;
  go.n_head = 4;
  models::GptImpl gpt(go);
  CHECK(ptm::test::contains(ptm::test::error_of([&] { peft::load_adapter(dir.path(), gpt); }),
                            "trained on a bert model, the base is gpt"));
}

TEST_CASE("peft lora checkpoints round trip through hf_state_dict", "[unit][peft]") {
  auto a = tiny_bert(12);
  peft::apply(method_config("lora"), *a);
  perturb_trainable(*a, 13);
  auto b = tiny_bert(14);
  peft::apply(method_config("lora"), *b);
  REQUIRE(b->load_hf_state_dict(a->hf_state_dict()).ok());
  torch::NoGradGuard no_grad;
  CHECK(torch::equal(a->forward(batch()).logits, b->forward(batch()).logits));
}

TEST_CASE("peft prefix tuning changes outputs and zero length is the identity", "[unit][peft]") {
  torch::NoGradGuard no_grad;
  const auto b = batch();
  auto plain = tiny_bert(15);
  const auto base = plain->forward(b).logits;
  auto c = method_config("prefix");
  c.prefix_length = 0;
  peft::apply(c, *plain);
  CHECK(torch::equal(base, plain->forward(b).logits));

  for (int64_t hidden : {0, 16}) {
    auto m = tiny_bert(15);
    c.prefix_length = 4;
    c.prefix_hidden = hidden;
    const auto r = peft::apply(c, *m);
    CHECK(r.targets.size() == 2);
    for (const auto& name : peft::trainable_names(c, *m))
      CHECK((name.rfind("prefix_encoder.", 0) == 0 || name.rfind("classifier.", 0) == 0));
    const auto out = m->forward(b).logits;
    CHECK(max_diff(base, out) > 1e-4);
    models::ForwardOptions fo;
    fo.output_attentions = true;  // the explicit softmax path sees the same prefix as SDPA
    const auto explicit_out = m->forward(b, fo);
    CHECK(max_diff(out, explicit_out.logits) < 1e-5);
    CHECK(explicit_out.attentions[0].sizes() == torch::IntArrayRef({3, 4, 8, 12}));
    // Padded positions still get no attention; the prefix columns always do.
    const auto probs = explicit_out.attentions[1];
    CHECK(probs[2].narrow(-1, 4 + 3, 5).abs().max().item<double>() == 0.0);
    CHECK(probs[2].narrow(-1, 0, 4).min().item<double>() > 0.0);
  }
  auto gpt_c = method_config("prefix");
  models::GptOptions go;
  go.vocab_size = 50;
  go.n_positions = 16;
  go.n_embd = 32;
  go.n_layer = 1;
  go.n_head = 4;
  models::GptImpl gpt(go);
  CHECK(ptm::test::contains(ptm::test::error_of([&] { peft::apply(gpt_c, gpt); }), "implemented for bert"));
}

TEST_CASE("peft bitfit trains only biases and the head", "[unit][peft]") {
  auto m = tiny_bert(16);
  const auto r = peft::apply(method_config("bitfit"), *m);
  int64_t biases = 0;
  for (const auto& p : m->named_parameters()) {
    const auto& n = p.key();
    const bool bias = n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
    if (bias && n.rfind("classifier.", 0) != 0) biases += p.value().numel();
    INFO(n);
    CHECK(p.value().requires_grad() == (bias || n.rfind("classifier.", 0) == 0));
  }
  CHECK(r.trainable == biases + 64 * 3 + 3);
  CHECK(r.total == models::count_parameters(*m));
}

TEST_CASE("peft section binding and target patterns report problems by key", "[unit][peft]") {
  const auto bind = [](const std::string& yaml, peft::PeftConfig& c) {
    config::BindContext ctx;
    const auto node = config::parse_yaml(yaml, "r.yaml");
    config::Section s(ctx, &node, "peft", {});
    peft::bind(s, c);
    std::string all;
    for (const auto& d : ctx.problems()) all += d.str() + "\n";
    return all;
  };
  peft::PeftConfig ok;
  CHECK(bind("method: lora\nrank: 4\nalpha: 8\ntarget_modules: [query, 're:.*value']\n", ok).empty());
  CHECK(ok.lora_scale() == 2.0);
  peft::PeftConfig bad;
  const auto msg = bind("method: adapter\nrank: 4\nadapter_mode: serial\nadapter_sizee: 3\n", bad);
  CHECK(ptm::test::contains(msg, "peft.rank: only used with method: lora"));
  CHECK(ptm::test::contains(msg, "peft.adapter_mode: 'serial' is not one of"));
  CHECK(ptm::test::contains(msg, "peft.adapter_sizee: unknown key (did you mean adapter_size?)"));

  // A run's resolved config.yaml holds only the chosen method's keys and reads back the same.
  const auto first = recipes::check(config::parse_yaml("peft: {method: adapter, adapter_size: 16}\n", "r.yaml"), "r");
  const std::string resolved = config::to_yaml(first.resolved);
  CHECK(!ptm::test::contains(resolved, "rank"));
  const auto again = recipes::check(config::parse_yaml(resolved, "resolved.yaml"), "r");
  REQUIRE(again.peft);
  CHECK(again.peft->adapter_size == 16);
  CHECK(again.peft->modules_to_save == std::vector<std::string>{"classifier"});

  CHECK(peft::name_matches("encoder.layer.0.attention.self.query", "query"));
  CHECK(!peft::name_matches("encoder.layer.0.attention.self.query", "uery"));
  CHECK(peft::name_matches("encoder.layer.1.output.dense", "encoder.layer.*.output.dense"));
  CHECK(peft::name_matches("transformer.h.0.attn.c_attn", "re:.*h\\.[0-9]+\\.attn\\.c_attn"));
  auto m = tiny_bert(17);
  auto c = method_config("lora");
  c.target_modules = {"qkv"};
  CHECK(ptm::test::contains(ptm::test::error_of([&] { peft::apply(c, *m); }),
                            "'qkv' matches no linear layer of the bert model"));
}
