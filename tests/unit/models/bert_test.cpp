// BERT parity with Hugging Face `transformers` (references from tests/golden/bert_reference.py,
// never from ptm): the real MiniLM on real review sentences, randomly initialised task models
// with non-default sizes, and ptm's own export loaded back by ptm (bit-identical) and by
// transformers (same logits). CPU, fp32.
#include <fstream>

#include "bert_test_util.h"
#include "ptm/data/tokenizer.h"

using namespace ptm;
using namespace ptm::models;
using namespace ptm::test::bert;

namespace {

constexpr double kTol = 1e-4;

std::vector<std::string> review_texts(const std::string& tsv, size_t rows) {
  std::ifstream in(tsv, std::ios::binary);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::string> texts;
  while (texts.size() < rows && std::getline(in, line))
    if (!line.empty()) texts.push_back(line.substr(0, line.rfind('\t')));
  return texts;
}

}  // namespace

TEST_CASE("bert matches transformers on MiniLM with real review sentences", "[unit][models][bert][integration]") {
  const std::string dir = data_path("models/minilm"), tsv = data_path("reviews/train.tsv");
  ptm::test::TempDir tmp;
  const std::string ref_path = tmp.file("minilm.safetensors");
  reference("minilm " + quoted(dir) + " " + quoted(tsv) + " " + quoted(ref_path) + " --rows 16 --max-length 128");
  const auto ref = load_map(ref_path);

  LoadReport report;
  const auto model = load_hf_bert(dir, std::nullopt, &report);
  INFO(report.str());
  CHECK(report.ok());  // embeddings.position_ids (I64 buffer) is ignored, everything else fits
  CHECK_FALSE(model->is_training());
  CHECK(count_parameters(*model) == ref.at("num_parameters").item<int64_t>());

  // ptm's tokenizer gives the reference's inputs for the same sentences.
  const auto tok = data::load_tokenizer(dir + "/tokenizer.json");
  data::EncodeOptions eo;
  eo.max_length = 128;
  const auto enc = data::encode_batch(*tok, review_texts(tsv, 16), eo);
  REQUIRE(enc.size() == 16);
  std::vector<int64_t> flat;
  for (const auto& e : enc) flat.insert(flat.end(), e.ids.begin(), e.ids.end());
  CHECK(torch::equal(torch::tensor(flat).reshape(ref.at("input_ids").sizes()), ref.at("input_ids")));

  torch::NoGradGuard no_grad;
  ForwardOptions fo;
  fo.output_hidden_states = true;
  const auto out = model->forward(batch_from(ref), fo);
  const double d_hidden = max_diff(out.last_hidden, ref.at("last_hidden_state"));
  const double d_pooled = max_diff(out.pooled, ref.at("pooler_output"));
  INFO("MiniLM max abs diff: last_hidden_state " << d_hidden << ", pooler_output " << d_pooled);
  CHECK(d_hidden <= kTol);
  CHECK(d_pooled <= kTol);
  REQUIRE(static_cast<int64_t>(out.hidden_states.size()) == ref.at("num_hidden_states").item<int64_t>());
  CHECK(max_diff(out.hidden_states[0], ref.at("hidden_states.0")) <= kTol);
  CHECK(max_diff(out.hidden_states[3], ref.at("hidden_states.3")) <= kTol);

  // The explicit-softmax path (for distillation) against transformers' eager attention.
  fo.output_attentions = true;
  const auto with_att = model->forward(batch_from(ref, 4), fo);
  REQUIRE(with_att.attentions.size() == 6);
  const double d_first = max_diff(with_att.attentions.front(), ref.at("attentions.first"));
  const double d_last = max_diff(with_att.attentions.back(), ref.at("attentions.last"));
  INFO("attention probabilities max abs diff: layer 0 " << d_first << ", layer 5 " << d_last);
  CHECK(d_first <= kTol);
  CHECK(d_last <= kTol);
  CHECK(max_diff(with_att.last_hidden, ref.at("last_hidden_state").narrow(0, 0, 4)) <= kTol);
}

TEST_CASE("bert loads random transformers task models with the same logits", "[unit][models][bert]") {
  ptm::test::TempDir tmp;
  reference("random " + quoted(tmp.path()));
  const auto batch = batch_from(load_map(tmp.file("inputs.safetensors")));
  const std::map<std::string, std::vector<int64_t>> expected_shape = {
      {"classification", {4, 3}}, {"mlm", {4, 20, 1000}}, {"token_classification", {4, 20, 5}}, {"regression", {4}}};
  for (const auto& [kind, shape] : expected_shape) {
    INFO(kind);
    LoadReport report;
    const auto model = load_hf_bert(tmp.file(kind), std::nullopt, &report);
    INFO(report.str());
    CHECK(report.ok());
    const auto& bert = dynamic_cast<const BertImpl&>(*model);
    CHECK(bert.options().head.type == kind);
    CHECK(bert.options().pad_token_id == 1);
    const auto ref = load_map(tmp.file(kind + "/reference.safetensors"));
    CHECK(count_parameters(*model) == ref.at("num_parameters").item<int64_t>());
    torch::NoGradGuard no_grad;
    const auto out = model->forward(batch);
    CHECK(out.logits.sizes().vec() == shape);
    const double d = max_diff(out.logits, ref.at("logits"));
    INFO(kind << " logits max abs diff " << d);
    CHECK(d <= kTol);
    CHECK(max_diff(out.last_hidden, ref.at("last_hidden_state")) <= kTol);
  }
}

TEST_CASE("bert export round trips bit-identically and loads in transformers", "[unit][models][bert]") {
  ptm::test::TempDir tmp;
  const auto batch = random_batch({17, 9, 12}, 17, 300, 1, 11);
  save_safetensors(tmp.file("inputs.safetensors"), {{"input_ids", batch.input_ids},
                                                    {"attention_mask", batch.attention_mask},
                                                    {"token_type_ids", batch.token_type_ids}});
  const std::vector<std::string> heads = {"none", "mlm", "classification", "token_classification", "regression"};
  std::map<std::string, ModelOutput> ours;
  std::map<std::string, int64_t> params;
  std::string dirs;
  for (size_t i = 0; i < heads.size(); ++i) {
    const auto& head = heads[i];
    INFO(head);
    torch::manual_seed(static_cast<uint64_t>(i));
    Bert model(tiny_options(head));
    perturb(*model, 0.05, 20 + i);
    model->eval();
    const std::string dir = tmp.file(head);
    save_hf_bert(*model, dir);
    dirs += " " + quoted(dir);

    LoadReport report;
    const auto back = load_hf_bert(dir, std::nullopt, &report);
    INFO(report.str());
    CHECK(report.ok());
    const auto mine = model->hf_state_dict(), theirs = back->hf_state_dict();
    REQUIRE(mine.size() == theirs.size());
    for (size_t k = 0; k < mine.size(); ++k) {
      INFO(mine[k].first);
      CHECK(mine[k].first == theirs[k].first);
      CHECK(torch::equal(mine[k].second, theirs[k].second));
    }
    torch::NoGradGuard no_grad;
    ours[head] = model->forward(batch);
    const auto again = back->forward(batch);
    CHECK(torch::equal(ours[head].last_hidden, again.last_hidden));
    if (head != "none") CHECK(torch::equal(ours[head].logits, again.logits));
    params[head] = count_parameters(*model);
  }
  reference("run " + quoted(tmp.file("inputs.safetensors")) + dirs);
  for (const auto& head : heads) {
    INFO(head);
    const auto hf = load_map(tmp.file(head + "/hf_outputs.safetensors"));
    CHECK(params[head] == hf.at("num_parameters").item<int64_t>());
    const double d_hidden = max_diff(ours[head].last_hidden, hf.at("last_hidden_state"));
    const double d_out = head == "none" ? max_diff(ours[head].pooled, hf.at("pooler_output"))
                                        : max_diff(ours[head].logits, hf.at("logits"));
    INFO(head << " transformers on ptm's export: last_hidden " << d_hidden << ", logits/pooled " << d_out);
    CHECK(d_hidden <= kTol);
    CHECK(d_out <= kTol);
    CHECK(hf.at("last_hidden_state").abs().max().item<double>() > 0.1);  // a real comparison, not of zeros
  }
}
