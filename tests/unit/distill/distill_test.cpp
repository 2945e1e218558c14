// Distillation: the loss functions against hand-computed values (logit KD and Jensen-Shannon
// at tau = 2, from softmax/KL evaluated by hand in Python's math module), MiniLM relations
// against the model's own attention probabilities, zero relation losses for a student equal
// to its teacher, label-free KD that equals the two models' divergence and pulls the student
// onto its teacher, layer maps and projection shapes, a frozen teacher through training steps,
// init_from layers, and the content-keyed teacher cache.
#include <torch/torch.h>

#include "catch.h"
#include "helpers.h"
#include "ptm/distill/distill.h"
#include "ptm/distill/losses.h"
#include "ptm/distill/teacher_cache.h"
#include "ptm/models/bert.h"
#include "ptm/recipes/init_from.h"
#include "unit/models/bert_test_util.h"

using namespace ptm;
using ptm::test::bert::random_batch;
using ptm::test::bert::tiny_options;

namespace {

std::shared_ptr<models::BertImpl> tiny_bert(uint64_t seed, int64_t hidden = 64, int64_t layers = 2, int64_t heads = 4,
                                            const std::string& head = "classification") {
  torch::manual_seed(seed);
  auto o = tiny_options(head, 3);
  o.hidden_size = hidden;
  o.num_hidden_layers = layers;
  o.num_attention_heads = heads;
  o.hidden_dropout_prob = 0.0;
  o.attention_probs_dropout_prob = 0.0;
  auto m = std::make_shared<models::BertImpl>(o);
  ptm::test::bert::perturb(*m, 0.05, seed);
  return m;
}

data::Batch labelled_batch(uint64_t seed) {
  auto b = random_batch({7, 4, 9}, 9, 300, 1, seed);
  b.labels = torch::tensor({0, 2, 1}, torch::kInt64);
  return b;
}

distill::DistillOptions with_teacher(std::shared_ptr<models::ModelImpl> teacher) {
  distill::DistillOptions o;
  o.teacher_model = std::move(teacher);
  return o;
}

}  // namespace

TEST_CASE("logit KD equals tau squared times KL computed by hand", "[unit][distill]") {
  const auto s = torch::tensor({0.5, -1.0, 2.0, 0.0, 0.0, 0.0}).view({2, 3});
  const auto t = torch::tensor({1.0, 0.0, -1.0, 3.0, 1.0, 0.0}).view({2, 3});
  const auto kd = distill::kd_kl(s, t, 2.0);
  REQUIRE(kd.sizes() == torch::IntArrayRef({2}));
  CHECK(kd[0].item<double>() == Approx(1.3937541160).epsilon(1e-5));
  CHECK(kd[1].item<double>() == Approx(0.7706121288).epsilon(1e-5));
  CHECK(distill::kd_kl(t, t, 2.0).abs().max().item<double>() < 1e-6);
  // Token logits [B, T, C] average over the kept tokens of each example.
  const auto s3 = torch::stack({s, s}), t3 = torch::stack({t, t});  // [2, 2, 3]
  const auto keep = torch::tensor({1, 1, 1, 0}, torch::kInt64).view({2, 2});
  const auto kd3 = distill::kd_kl(s3, t3, 2.0, keep);
  CHECK(kd3[0].item<double>() == Approx((1.3937541160 + 0.7706121288) / 2).epsilon(1e-5));
  CHECK(kd3[1].item<double>() == Approx(1.3937541160).epsilon(1e-5));
}

TEST_CASE("Jensen-Shannon KD equals the divergence computed by hand", "[unit][distill]") {
  const auto s = torch::tensor({0.5, -1.0, 2.0, 0.0, 0.0, 0.0}).view({2, 3});
  const auto t = torch::tensor({1.0, 0.0, -1.0, 3.0, 1.0, 0.0}).view({2, 3});
  const auto js = distill::kd_js(s, t, 2.0);
  CHECK(js[0].item<double>() == Approx(0.3597784061).epsilon(1e-5));
  CHECK(js[1].item<double>() == Approx(0.1917135503).epsilon(1e-5));
  CHECK((distill::kd_js(s, t, 2.0) - distill::kd_js(t, s, 2.0)).abs().max().item<double>() < 1e-6);  // symmetric
}

TEST_CASE("MiniLM attention relation with the model's heads is the KL of its attention probabilities",
          "[unit][distill]") {
  auto a = tiny_bert(1), b = tiny_bert(2);
  a->eval();
  b->eval();
  const auto batch = labelled_batch(5);
  models::ForwardOptions fo;
  fo.output_attentions = true;
  std::vector<std::array<torch::Tensor, 3>> qa, qb;
  const auto oa = a->forward_qkv(batch, fo, &qa), ob = b->forward_qkv(batch, fo, &qb);
  REQUIRE(qa.size() == 2);
  REQUIRE(qa.back()[2].sizes() == torch::IntArrayRef({3, 9, 64}));
  // KL(teacher b || student a) of the last layer's real attention rows, averaged over heads and real queries.
  const auto pa = oa.attentions.back(), pb = ob.attentions.back();  // [B, 4, T, T]
  const auto rows = (pb * (pb.clamp_min(1e-30).log() - pa.clamp_min(1e-30).log())).sum(-1).mean(1);  // [B, T]
  const auto keep = batch.attention_mask.to(torch::kFloat32);
  const auto expected = (rows * keep).sum(-1) / keep.sum(-1);
  const auto got = distill::relation_kl(qa.back()[0], qa.back()[1], qb.back()[0], qb.back()[1], 4,
                                        batch.attention_mask);
  CHECK((got - expected).abs().max().item<double>() < 1e-5);
  CHECK(got.min().item<double>() > 1e-4);  // different models: a positive divergence
}

TEST_CASE("relation hidden and logit losses are zero when the student equals the teacher", "[unit][distill]") {
  for (const int64_t relation_heads : {0, 8}) {
    auto student = tiny_bert(3), teacher = tiny_bert(3);
    auto o = with_teacher(teacher);
    o.alpha = 1.0;
    o.hidden_weight = 1.0;
    o.attention_weight = 1.0;
    o.value_weight = 1.0;
    o.relation_heads = relation_heads;
    distill::DistillObjective objective(o);
    objective.attach(*student, torch::kCPU);
    student->eval();
    const auto parts = objective.loss(*student, labelled_batch(7), false);
    for (const char* k : {"kd", "hidden", "attention", "value"}) {
      INFO(k << " with " << relation_heads << " relation heads");
      CHECK(std::abs(parts.sums.at(k).item<double>()) < 1e-5);
    }
    CHECK(parts.loss_sum.item<double>() < 1e-4);
    CHECK(parts.sums.at("agreement").item<double>() == 3);
  }
}

TEST_CASE("layer maps and projections have the right shapes", "[unit][distill]") {
  CHECK(distill::uniform_layer_map(2, 6) == std::vector<int64_t>{3, 6});
  CHECK(distill::uniform_layer_map(3, 12) == std::vector<int64_t>{4, 8, 12});
  CHECK(distill::uniform_layer_map(4, 6) == std::vector<int64_t>{2, 3, 5, 6});
  auto student = tiny_bert(4, 32, 2, 2), teacher = tiny_bert(5, 64, 6, 4);
  auto o = with_teacher(teacher);
  o.hidden_weight = 1.0;
  o.attention_weight = 1.0;
  distill::DistillObjective objective(o);
  objective.attach(*student, torch::kCPU);
  CHECK(objective.layer_map() == std::vector<int64_t>{3, 6});
  CHECK(objective.relation_heads() == 2);
  const auto params = objective.parameters();
  REQUIRE(params.size() == 4);
  CHECK(params[0].first == "hidden_proj.1.weight");
  CHECK(params[0].second.sizes() == torch::IntArrayRef({64, 32}));
  CHECK(params[1].second.sizes() == torch::IntArrayRef({64}));
  CHECK(params[3].first == "hidden_proj.2.bias");
  const auto parts = objective.loss(*student, labelled_batch(8), true);
  CHECK(parts.sums.at("hidden").item<double>() > 0);
  CHECK(parts.targets.item<int64_t>() == 3);

  // Equal widths need no projection; a wrong map or relation head count names its key.
  auto same = with_teacher(tiny_bert(6, 32, 4, 2));
  same.hidden_weight = 1.0;
  same.layer_map = {0, 4};
  distill::DistillObjective plain(same);
  plain.attach(*student, torch::kCPU);
  CHECK(plain.parameters().empty());
  CHECK(plain.layer_map() == std::vector<int64_t>{0, 4});
  auto bad_map = with_teacher(teacher);
  bad_map.hidden_weight = 1.0;
  bad_map.layer_map = {1, 2, 3};
  CHECK(ptm::test::contains(ptm::test::error_of([&] { distill::DistillObjective(bad_map).attach(*student, torch::kCPU); }),
                            "objective.layer_map"));
  auto bad_heads = with_teacher(teacher);
  bad_heads.value_weight = 1.0;
  bad_heads.relation_heads = 3;
  CHECK(ptm::test::contains(
      ptm::test::error_of([&] { distill::DistillObjective(bad_heads).attach(*student, torch::kCPU); }),
      "objective.relation_heads"));
}

TEST_CASE("the distillation objective counts the teacher's forward FLOPs for ptm bench", "[unit][distill]") {
  auto student = tiny_bert(13, 32, 2, 2), teacher = tiny_bert(14, 64, 4, 4);
  distill::DistillObjective obj(with_teacher(teacher));
  obj.attach(*student, torch::kCPU);
  CHECK(obj.extra_forward_flops(16) == teacher->forward_flops(16));
  CHECK(obj.extra_forward_flops(16) > student->forward_flops(16));  // the wider teacher, not the student
  auto cached = with_teacher(teacher);
  ptm::test::TempDir tmp;
  cached.cache = tmp.file("logits.safetensors");
  distill::DistillObjective with_cache(cached);
  with_cache.attach(*student, torch::kCPU);
  CHECK(with_cache.extra_forward_flops(16) == 0.0);  // cached logits: the teacher does not run
  CHECK(objectives::make("causal_lm")->extra_forward_flops(16) == 0.0);
}

TEST_CASE("the teacher is unchanged after training steps while the student and projections learn",
          "[unit][distill]") {
  auto student = tiny_bert(9, 32, 2, 2), teacher = tiny_bert(10, 64, 4, 4);
  std::vector<torch::Tensor> teacher_before, student_before;
  for (const auto& p : teacher->parameters()) teacher_before.push_back(p.detach().clone());
  for (const auto& p : student->parameters()) student_before.push_back(p.detach().clone());
  auto o = with_teacher(teacher);
  o.alpha = 0.5;
  o.hidden_weight = 1.0;
  o.attention_weight = 1.0;
  o.value_weight = 1.0;
  distill::DistillObjective objective(o);
  objective.attach(*student, torch::kCPU);
  student->train();
  CHECK_FALSE(teacher->is_training());
  const auto params = objective.parameters();
  const auto proj_before = params[0].second.detach().clone();
  std::vector<torch::Tensor> trained = student->parameters();
  for (const auto& [k, v] : params) trained.push_back(v);
  torch::optim::SGD sgd(trained, torch::optim::SGDOptions(0.1));
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    const auto parts = objective.loss(*student, labelled_batch(11 + step), true);
    (parts.loss_sum / parts.targets.to(torch::kFloat32)).backward();
    sgd.step();
  }
  const auto tp = teacher->parameters();
  for (size_t i = 0; i < tp.size(); ++i) {
    CHECK_FALSE(tp[i].requires_grad());
    CHECK_FALSE(tp[i].grad().defined());
    CHECK(torch::equal(tp[i], teacher_before[i]));
  }
  int changed = 0;
  const auto sp = student->parameters();
  for (size_t i = 0; i < sp.size(); ++i) changed += torch::equal(sp[i], student_before[i]) ? 0 : 1;
  CHECK(changed > static_cast<int>(sp.size()) / 2);
  CHECK_FALSE(torch::equal(params[0].second, proj_before));
}

TEST_CASE("label-free logit KD is the teacher's divergence and pulls the student onto the teacher",
          "[unit][distill]") {
  // A student that merely changes under training proves nothing about the teacher: here the
  // objective's KD term must equal tau^2 KL(teacher || student) of the two models' own logits,
  // and minimising it alone must make the student agree with the teacher.
  auto student = tiny_bert(15, 32, 2, 2), teacher = tiny_bert(16, 64, 4, 4);
  auto o = with_teacher(teacher);
  o.alpha = 1.0;  // no labels: only the teacher can move the student
  distill::DistillObjective objective(o);
  objective.attach(*student, torch::kCPU);
  student->eval();  // no dropout (tiny_bert has none; eval keeps it explicit)
  const auto batch = labelled_batch(21);
  const auto kd_now = [&] {
    torch::NoGradGuard no_grad;
    return objective.loss(*student, batch, false).sums.at("kd").item<double>();
  };
  double by_hand = 0;
  {
    torch::NoGradGuard no_grad;
    by_hand = distill::kd_kl(student->forward(batch).logits, teacher->forward(batch).logits, o.temperature)
                  .sum()
                  .item<double>();
  }
  const double before = kd_now();
  CHECK(before == Approx(by_hand).epsilon(1e-5));
  CHECK(before > 1e-3);
  std::vector<torch::Tensor> params = student->parameters();
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.5));
  for (int step = 0; step < 30; ++step) {
    sgd.zero_grad();
    const auto parts = objective.loss(*student, batch, true);
    (parts.loss_sum / parts.targets.to(torch::kFloat32)).backward();
    sgd.step();
  }
  const double after = kd_now();
  CAPTURE(before, after);
  CHECK(after < 0.1 * before);
  torch::NoGradGuard no_grad;
  CHECK(objective.loss(*student, batch, false).sums.at("agreement").item<double>() == 3);
}

TEST_CASE("init_from layers copies the chosen teacher layers into the student", "[unit][distill]") {
  ptm::test::TempDir tmp;
  auto teacher = tiny_bert(12, 64, 4, 4);
  models::save_hf_bert(*teacher, tmp.file("teacher"));
  auto student = tiny_bert(13, 64, 2, 4);
  recipes::InitFrom init;
  init.hf = tmp.file("teacher");
  init.strict = false;
  init.layers = {1, 3};
  recipes::apply_init_from(init, *student);
  const auto t = teacher->named_parameters(), s = student->named_parameters();
  CHECK(torch::equal(s["encoder.layer.0.attention.self.query.weight"], t["encoder.layer.1.attention.self.query.weight"]));
  CHECK(torch::equal(s["encoder.layer.1.output.dense.weight"], t["encoder.layer.3.output.dense.weight"]));
  CHECK(torch::equal(s["embeddings.word_embeddings.weight"], t["embeddings.word_embeddings.weight"]));
  CHECK_FALSE(torch::equal(s["encoder.layer.1.output.dense.weight"], t["encoder.layer.1.output.dense.weight"]));
}

TEST_CASE("the teacher cache keys examples by content and survives a reload", "[unit][distill]") {
  ptm::test::TempDir tmp;
  const auto b = random_batch({5, 3}, 6, 300, 1, 21);
  const auto logits = torch::tensor({1.0, 2.0, 3.0, -1.0, 0.5, 0.25}).view({2, 3});
  {
    distill::TeacherCache cache(tmp.file("c.safetensors"), "t1");
    CHECK_FALSE(cache.lookup(b).defined());
    cache.insert(b, logits);
    // The same examples reordered and padded to another length hit the cache.
    data::Batch r;
    r.input_ids = torch::full({2, 8}, 1, torch::kInt64);
    r.attention_mask = torch::zeros({2, 8}, torch::kInt64);
    r.token_type_ids = torch::zeros({2, 8}, torch::kInt64);
    r.input_ids[0].narrow(0, 0, 3).copy_(b.input_ids[1].narrow(0, 0, 3));
    r.token_type_ids[0].narrow(0, 0, 3).copy_(b.token_type_ids[1].narrow(0, 0, 3));
    r.attention_mask[0].narrow(0, 0, 3).fill_(1);
    r.input_ids[1].narrow(0, 0, 5).copy_(b.input_ids[0].narrow(0, 0, 5));
    r.token_type_ids[1].narrow(0, 0, 5).copy_(b.token_type_ids[0].narrow(0, 0, 5));
    r.attention_mask[1].narrow(0, 0, 5).fill_(1);
    const auto got = cache.lookup(r);
    REQUIRE(got.defined());
    CHECK(torch::equal(got[0], logits[1]));
    CHECK(torch::equal(got[1], logits[0]));
  }  // saved here
  distill::TeacherCache reloaded(tmp.file("c.safetensors"), "t1");
  CHECK(reloaded.size() == 2);
  CHECK(torch::equal(reloaded.lookup(b), logits));
  distill::TeacherCache other(tmp.file("c.safetensors"), "t2");  // another teacher: not reused
  CHECK(other.size() == 0);
}
