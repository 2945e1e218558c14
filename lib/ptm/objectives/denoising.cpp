// The denoising objective (MLM, spans, prefix LM, causal LM, UL2 mixtures) and position
// prediction, with their recipe bindings.
#include "ptm/objectives/denoising.h"

#include <filesystem>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/data/tokenizer.h"
#include "ptm/models/bert.h"

namespace ptm::objectives {
namespace {

namespace F = torch::nn::functional;

// Summed cross entropy and correct predictions of logits [B, T, V] against targets [B, T].
LossParts token_loss(const torch::Tensor& logits, const torch::Tensor& targets, const std::string& accuracy) {
  LossParts p;
  const auto flat = logits.flatten(0, 1).to(torch::kFloat32);  // [B*T, V]
  const auto t = targets.flatten();
  p.loss_sum = F::cross_entropy(flat, t, F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kSum));
  p.targets = (t != kIgnoreIndex).sum();
  p.sums[accuracy] = ((flat.argmax(-1) == t) & (t != kIgnoreIndex)).sum();
  return p;
}

torch::Tensor real_tokens(const data::Batch& b) {
  return b.attention_mask.defined() ? b.attention_mask.to(torch::kBool) : torch::ones_like(b.input_ids, torch::kBool);
}

// [c, x[:, :-1]]: a column in front, the last one dropped (the length stays T).
torch::Tensor push_front(const torch::Tensor& x, const torch::Tensor& column) {
  return torch::cat({column.to(x.dtype()), x.narrow(1, 0, x.size(1) - 1)}, 1);
}

}  // namespace

uint64_t batch_seed(int64_t seed, const torch::Tensor& ids) {
  const auto w = torch::arange(1, ids.numel() + 1, ids.options().dtype(torch::kLong)).remainder(9973) + 1;
  const auto h = (ids.flatten().to(torch::kLong) * w).sum().item<int64_t>();
  return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(h);
}

Vocabulary load_vocabulary(const std::string& tokenizer, const std::string& mask_token, const std::string& lexicon) {
  const auto tok = data::load_tokenizer(tokenizer);
  auto v = Vocabulary::from_tokenizer(*tok, mask_token);
  if (!lexicon.empty()) {
    std::vector<std::string> words;
    std::istringstream in(fs_util::read_file(lexicon));
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty() && line[0] != '#') words.push_back(line);
    }
    v.add_lexicon(*tok, words);
  }
  return v;
}

Denoising::Denoising(const DenoisingOptions& o) : o_(o) {
  const auto vocab = load_vocabulary(o.tokenizer, o.mask_token, o.lexicon);
  const auto tok = data::load_tokenizer(o.tokenizer);
  std::vector<float> cdf;
  double total = 0, acc = 0;
  for (const auto& d : o.denoisers) total += d.weight;
  std::vector<Diagnostic> problems;
  for (size_t i = 0; i < o.denoisers.size(); ++i) {
    const auto& d = o.denoisers[i];
    try {
      engines_.push_back(std::make_shared<CorruptionEngine>(d.corruption, vocab));
    } catch (const ConfigError& e) {
      for (auto diag : e.diagnostics()) {
        diag.path = "objective." + (o.denoisers.size() > 1 ? "denoisers." + std::to_string(i) + "." : "") + diag.path;
        problems.push_back(diag);
      }
    }
    int64_t mode_id = -1;
    if (!d.mode_token.empty()) {
      const auto id = tok->token_to_id(d.mode_token);
      if (!id) problems.push_back({Origin{}, "objective.mode_token", "'" + d.mode_token + "' is not in " + o.tokenizer});
      mode_id = id ? *id : -1;
    }
    mode_ids_.push_back(mode_id);
    cdf.push_back(static_cast<float>((acc += d.weight) / total));
  }
  if (!problems.empty()) throw ConfigError(problems);
  cdf.back() = 1.0f;
  weight_cdf_ = torch::tensor(cdf);
}

void Denoising::attach(models::ModelImpl& model, const torch::Device& device) {
  (void)device;
  const auto arch = model.arch();
  if (arch != "bert" && arch != "gpt")
    throw ConfigError(Origin{}, "objective.type", "denoising needs a bert (encoder) or gpt (decoder) model, got " + arch);
  decoder_ = arch == "gpt";
  for (size_t i = 0; i < engines_.size(); ++i)
    if (!decoder_ && engines_[i]->options().mode == "causal")
      throw ConfigError(Origin{}, "objective.mode", "causal denoising needs a gpt model (an encoder sees every token)");
}

data::Batch Denoising::prepare(const data::Batch& b, bool training) const {
  const auto dev = b.input_ids.device();
  std::optional<at::Generator> gen;
  if (!training) gen = at::detail::createCPUGenerator(batch_seed(o_.eval_seed, b.input_ids));
  at::Generator* g = gen ? &*gen : nullptr;
  const int64_t B = b.input_ids.size(0), T = b.input_ids.size(1), D = static_cast<int64_t>(engines_.size());
  const auto L = torch::kLong;

  // The token sequence: the inputs, plus (decoders) the last next-token target.
  auto seq = b.input_ids.to(L);
  auto real = real_tokens(b);
  if (decoder_ && b.targets.defined()) {
    const auto last = b.targets.narrow(1, T - 1, 1).to(L);
    seq = torch::cat({seq, last.clamp_min(0)}, 1);                             // [B, T+1]
    real = torch::cat({real, (last != kIgnoreIndex) & real.narrow(1, T - 1, 1)}, 1);
  }
  // Which denoiser each row gets.
  torch::Tensor choice = torch::zeros({B}, seq.options());
  if (D > 1) {
    const auto u = gen ? torch::rand({B}, *g).to(dev) : torch::rand({B}, torch::TensorOptions().device(dev));
    choice = torch::searchsorted(weight_cdf_.to(dev), u, false, true).clamp_max(D - 1);
  }
  auto types = b.token_type_ids;
  bool mode_tokens = false;
  for (int64_t id : mode_ids_) mode_tokens |= id >= 0;
  auto eligible = real.clone();
  if (mode_tokens) {  // UL2: the denoiser's token in front of the sequence
    const auto ids = torch::tensor(mode_ids_, seq.options().device(torch::kCPU)).to(dev).clamp_min(0);
    seq = push_front(seq, ids.index({choice}).view({B, 1}));
    real = push_front(real, torch::ones({B, 1}, real.options()));
    eligible = push_front(eligible, torch::zeros({B, 1}, real.options()));
    if (types.defined()) types = push_front(types, torch::zeros({B, 1}, types.options()));
  }
  if (decoder_) eligible.select(1, 0).fill_(false);  // nothing predicts the first position

  const auto inp = seq.narrow(1, 0, T);          // [B, T]
  const auto inp_eligible = eligible.narrow(1, 0, T);
  data::Batch out = b;
  out.input_ids = inp;
  out.targets = torch::full({B, T}, kIgnoreIndex, seq.options());
  out.attention_mask = b.attention_mask.defined() ? real.narrow(1, 0, T).to(b.attention_mask.dtype()) : torch::Tensor();
  torch::Tensor prefix = decoder_ ? torch::zeros({B, T}, real.options()) : torch::Tensor();  // decoders
  for (int64_t d = 0; d < D; ++d) {
    const auto& engine = *engines_[static_cast<size_t>(d)];
    const auto mode = engine.options().mode;
    const auto c = engine.corrupt(inp, inp_eligible, g);
    const auto rows = (choice == d).view({B, 1});  // [B, 1]
    torch::Tensor input = c.input_ids, targets, pre;
    if (!decoder_) {
      targets = torch::where(c.selected, inp, kIgnoreIndex);
    } else {
      // Position t predicts seq[t + 1]: selected[t + 1], or every real next token (causal, and
      // the suffix of prefix mode, which runs to the end of the row).
      const auto next = seq.narrow(1, 1, seq.size(1) - 1);                  // [B, T] or [B, T-1]
      auto next_real = real.narrow(1, 1, seq.size(1) - 1);
      auto pred = torch::cat({c.selected.narrow(1, 1, T - 1), torch::zeros({B, 1}, c.selected.options())}, 1);
      if (mode == "causal" || mode == "prefix") {
        input = inp;
        pred = mode == "causal" ? torch::ones_like(pred)
                                : torch::cat({c.selected.narrow(1, 1, T - 1), c.selected.any(1, true)}, 1);
      }
      const auto nxt = next.size(1) == T ? next : torch::cat({next, torch::zeros({B, 1}, next.options())}, 1);
      next_real = next_real.size(1) == T ? next_real : torch::cat({next_real, torch::zeros({B, 1}, next_real.options())}, 1);
      targets = torch::where(pred & next_real, nxt, kIgnoreIndex);
      // Bidirectional attention over the prefix: all of it for masked/span, none for causal.
      pre = mode == "causal" ? torch::zeros_like(c.selected)
            : mode == "prefix" ? real.narrow(1, 0, T) & c.selected.logical_not()
                               : real.narrow(1, 0, T);
    }
    out.input_ids = torch::where(rows, input, out.input_ids);
    out.targets = torch::where(rows, targets, out.targets);
    if (decoder_) prefix = torch::where(rows, pre, prefix);
  }
  if (decoder_) out.token_type_ids = prefix.to(L);  // gpt: 1 = bidirectional prefix
  else if (types.defined()) out.token_type_ids = types;
  return out;
}

LossParts Denoising::loss(models::ModelImpl& model, const data::Batch& batch, bool training) {
  const auto b = prepared(batch, training);
  models::ForwardOptions options;
  options.compute_logits = false;
  const auto out = model.forward(b, options);
  if (out.logits.defined()) return compute(out, b);
  // The head runs on the rows that have targets only (15% of an MLM batch): the same loss,
  // without scoring the vocabulary at every position.
  const auto targets = b.targets.flatten();
  const auto rows = (targets != kIgnoreIndex).nonzero().squeeze(1);  // [M]
  const auto logits = model.head_logits(out.last_hidden.flatten(0, 1).index_select(0, rows));  // [M, V]
  if (!logits.defined()) throw RuntimeError("denoising: the model has no token-wise head (use head: mlm or a gpt)");
  return token_loss(logits.unsqueeze(0), targets.index_select(0, rows).unsqueeze(0), "mlm_accuracy");
}

LossParts Denoising::compute(const models::ModelOutput& out, const data::Batch& b) const {
  return token_loss(out.logits, b.targets, "mlm_accuracy");
}

torch::Tensor Denoising::count_targets(const data::Batch& b) const {
  auto p = prepare(b, true);
  auto n = (p.targets != kIgnoreIndex).sum();
  cache_.put(b, std::move(p));
  return n;
}

namespace {

// Position prediction (Zhai et al. 2023): an encoder without position embeddings classifies
// the position of every real token (head token_classification with num_labels >= seq_len).
class PositionPrediction : public Objective {
 public:
  void attach(models::ModelImpl& model, const torch::Device& device) override {
    (void)device;
    const auto* bert = dynamic_cast<models::BertImpl*>(&model);
    if (!bert || bert->options().head.type != "token_classification" || bert->options().position_embeddings)
      throw ConfigError(Origin{}, "objective.type",
                        "position_prediction needs a bert model with head: token_classification, "
                        "num_labels >= the sequence length and position_embeddings: false");
    labels_ = bert->options().head.num_labels;
  }
  LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) override {
    (void)training;
    return compute(model.forward(with_positions(batch)), with_positions(batch));
  }
  LossParts compute(const models::ModelOutput& out, const data::Batch& b) const override {
    return token_loss(out.logits, b.targets, "position_accuracy");
  }
  torch::Tensor count_targets(const data::Batch& b) const override { return real_tokens(b).sum(); }
  std::string name() const override { return "position_prediction"; }

 private:
  data::Batch with_positions(const data::Batch& b) const {
    const int64_t T = b.input_ids.size(1);
    if (labels_ > 0 && T > labels_)
      throw RuntimeError("position_prediction: " + std::to_string(T) + " tokens but only " + std::to_string(labels_) +
                         " position classes (model num_labels)");
    data::Batch out = b;
    const auto pos = torch::arange(T, b.input_ids.options().dtype(torch::kLong)).expand({b.input_ids.size(0), T});
    out.targets = torch::where(real_tokens(b), pos, kIgnoreIndex);
    return out;
  }
  int64_t labels_ = 0;
};

void bind_denoiser(config::Section& s, DenoiserSpec& d, std::vector<std::string>* malformed) {
  auto& c = d.corruption;
  const auto read = [&](const std::string& key, auto& value, const std::string& help) {
    if (!s.opt(key, value, help).ok() && malformed) malformed->push_back(key);
  };
  read("mode", c.mode, "masked | span | prefix | causal");
  read("rate", c.rate, "fraction of eligible tokens corrupted (prefix: mean suffix fraction)");
  read("span_distribution", c.span_distribution, "fixed | geometric | poisson | ngram (P(n) ~ 1/n up to span_max)");
  read("span_mean", c.span_mean, "mean span length in tokens (words with whole_word)");
  read("span_max", c.span_max, "longest span (geometric, poisson; ngram: n)");
  std::vector<double> replace{c.mask_prob, c.random_prob, 1.0 - c.mask_prob - c.random_prob};
  if (s.opt("replace", replace, "[mask, random, keep] fractions of the corrupted tokens").ok()) {
    double sum = 0;
    for (double x : replace) sum += x;
    if (replace.size() != 3 || std::abs(sum - 1.0) > 1e-6)
      s.problem("replace", "expected three fractions [mask, random, keep] that sum to 1");
    else {
      c.mask_prob = replace[0];
      c.random_prob = replace[1];
    }
  }
  read("whole_word", c.whole_word, "never split a WordPiece word (continuations start with ##)");
  read("mode_token", d.mode_token, "token put in front of the input (UL2 mode token), e.g. [unused0]");
}

}  // namespace

void bind_denoising(config::Section& s, DenoisingOptions& o) {
  const auto must_exist = [&](const std::string& key, const std::string& path) {
    if (!path.empty() && !std::filesystem::exists(path))
      s.problem(key, "'" + path + "' does not exist" + (path.rfind("data/", 0) == 0 ? " (run scripts/get-data.sh)" : ""));
  };
  if (s.req("tokenizer", o.tokenizer, "vocab.txt, tokenizer.json or a folder (specials, [MASK], ## pieces)").ok())
    must_exist("tokenizer", o.tokenizer);
  s.opt("mask_token", o.mask_token, "the mask token");
  if (s.opt("lexicon", o.lexicon, "file of words (one a line) masked first").ok()) must_exist("lexicon", o.lexicon);
  s.opt("eval_seed", o.eval_seed, "seed of evaluation-time corruption");
  DenoiserSpec base;
  std::vector<std::string> malformed;
  bind_denoiser(s, base, &malformed);
  const auto* list = s.raw("denoisers");
  std::vector<std::pair<std::string, DenoiserSpec>> specs;  // (key prefix, spec)
  if (list && list->is_sequence() && !list->items().empty()) {
    for (size_t i = 0; i < list->items().size(); ++i) {
      const auto& item = list->items()[i];
      config::Section sub(s.context(), &item, s.path_of("denoisers." + std::to_string(i)), item.origin());
      DenoiserSpec d = base;
      if (sub.opt("weight", d.weight, "relative weight of this denoiser").ok() && !(d.weight > 0))
        sub.problem("weight", "must be > 0");
      bind_denoiser(sub, d, nullptr);
      sub.finish();
      for (const auto& [key, what] : d.corruption.problems()) sub.problem(key, what);
      specs.emplace_back("denoisers." + std::to_string(i) + ".", d);
    }
  } else {
    if (list) s.problem("denoisers", "expected a non-empty list of denoisers");
    for (const auto& [key, what] : base.corruption.problems())
      if (std::find(malformed.begin(), malformed.end(), key) == malformed.end()) s.problem(key, what);
    specs.emplace_back("", base);
  }
  s.finish();
  size_t with_token = 0;
  for (const auto& [prefix, d] : specs) {
    o.denoisers.push_back(d);
    with_token += d.mode_token.empty() ? 0 : 1;
  }
  if (with_token != 0 && with_token != specs.size())
    s.problem("mode_token", "either every denoiser has a mode_token or none has");
}

ObjectiveFactory denoising_factory() {
  return [](config::Section& s) -> ObjectiveBuilder {
    DenoisingOptions o;
    bind_denoising(s, o);
    return [o] { return std::make_unique<Denoising>(o); };
  };
}

ObjectiveFactory position_prediction_factory() {
  return [](config::Section& s) -> ObjectiveBuilder {
    s.finish();
    return [] { return std::make_unique<PositionPrediction>(); };
  };
}

}  // namespace ptm::objectives
