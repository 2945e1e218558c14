// Data set "mixture": windows of seq_len+1 tokens from several prepared folders in the
// recipe's proportions. Training: each global batch (B*W windows, every rank's rows of one
// step) takes its sources from plan_batch() (mixture.h), so every source is within one
// window of its share after any number of windows, shuffled over rows and ranks. A source's
// n-th window starts at a seeded counter of its own (stream i), so a one-source mixture draws
// exactly the windows of data type "tokens".
// The state is the batches drawn and each source's windows so far, counted over all ranks
// (the same on each); the trainer logs them as tokens_seen_<name>.
// Evaluation interleaves the sources' non-overlapping windows by the same rule, a source
// dropping out when its split is walked to the end, ranks taking every world-th window.
#include "ptm/data/token_mixture.h"

#include <filesystem>
#include <set>

#include "ptm/core/errors.h"
#include "ptm/data/mixture.h"
#include "ptm/data/token_split.h"

namespace ptm::data {
namespace {

// "" when every folder was prepared with the same tokenizer (tokenizer.sha256 where both
// manifests have one, and vocab_size); else what differs, naming both folders.
std::string tokenizer_mismatch(const std::vector<Manifest>& m, const std::vector<MixtureSource>& src) {
  const auto sha = [](const Manifest& x) {
    const auto& t = x.json.at("tokenizer");
    return t.contains("sha256") && t["sha256"].is_string() ? t["sha256"].get<std::string>() : std::string();
  };
  for (size_t i = 1; i < m.size(); ++i) {
    std::string what;
    if (m[i].vocab_size != m[0].vocab_size)
      what = "tokenizer.vocab_size " + std::to_string(m[0].vocab_size) + " vs " + std::to_string(m[i].vocab_size);
    else if (!sha(m[0]).empty() && !sha(m[i]).empty() && sha(m[0]) != sha(m[i]))
      what = "tokenizer.sha256 " + sha(m[0]).substr(0, 12) + "... vs " + sha(m[i]).substr(0, 12) + "...";
    if (!what.empty())
      return "sources 0 ('" + src[0].path + "') and " + std::to_string(i) + " ('" + src[i].path +
             "') were prepared with different tokenizers (" + what + " in their manifest.json): the same id " +
             "would mean different tokens; prepare them with one tokenizer (tokenizer: {type: pretrained, path: " +
             src[0].path + "/tokenizer.json})";
  }
  return "";
}

class TokenMixture : public BatchStream {
 public:
  TokenMixture(const TokenMixtureOptions& o, const StreamOptions& s) : o_(o), s_(s) {
    double sum = 0;
    for (const auto& src : o.sources) sum += src.weight;
    std::vector<Manifest> manifests;
    for (const auto& src : o.sources) {
      splits_.emplace_back(src.path, s.split);
      manifests.push_back(splits_.back().manifest());
      shares_.push_back(src.weight / sum);
      if (splits_.back().size() < o.seq_len + 1 && src.weight > 0)
        throw IoError("split '" + s.split + "' of mixture source '" + src.path + "' has " +
                      std::to_string(splits_.back().size()) + " tokens, fewer than seq_len+1 = " +
                      std::to_string(o.seq_len + 1));
    }
    if (const auto why = tokenizer_mismatch(manifests, o.sources); !why.empty())
      throw ConfigError(Origin{}, "data.sources", why);
    counts_.assign(o.sources.size(), 0);
  }

  std::optional<Batch> next() override {
    const int64_t B = s_.batch_size, T = o_.seq_len;
    auto buf = torch::empty({B, T + 1}, torch::kInt64);
    int64_t* p = buf.data_ptr<int64_t>();
    const int64_t rows = s_.train ? draw(p) : walk(p);
    if (rows == 0) return std::nullopt;
    ++cursor_;
    buf = buf.narrow(0, 0, rows);
    Batch b;
    b.input_ids = buf.narrow(1, 0, T).contiguous();
    b.targets = buf.narrow(1, 1, T).contiguous();
    return b;
  }

  nlohmann::json state() const override {
    nlohmann::json tokens = nlohmann::json::object();
    for (size_t i = 0; i < counts_.size(); ++i) tokens[o_.sources[i].name] = counts_[i] * o_.seq_len;
    return {{"batches", cursor_}, {"windows", counts_}, {"walked", walked_}, {"source_tokens", tokens}};
  }
  void load_state(const nlohmann::json& s) override {
    const auto counts = s.at("windows").get<std::vector<int64_t>>();
    if (counts.size() != counts_.size())
      throw ConfigError(Origin{}, "data.sources",
                        "the checkpoint's data position is of a mixture of " + std::to_string(counts.size()) +
                            " sources, this recipe has " + std::to_string(counts_.size()));
    cursor_ = s.at("batches").get<int64_t>();
    counts_ = counts;
    walked_ = s.value("walked", int64_t{0});
  }
  int64_t examples() const override {
    int64_t n = 0;
    for (const auto& sp : splits_) n += sp.size() / o_.seq_len;
    return n;
  }
  int64_t vocab_size() const override { return splits_.front().vocab_size(); }
  int64_t sequence_length() const override { return o_.seq_len; }
  std::string describe() const override {
    std::string d = "mixture [" + s_.split + "] of " + std::to_string(splits_.size()) + " sources:";
    for (size_t i = 0; i < splits_.size(); ++i)
      d += std::string(i ? "," : "") + " " + o_.sources[i].name + " (" + o_.sources[i].path + ", share " +
           std::to_string(shares_[i]) + ", " + std::to_string(splits_[i].size()) + " tokens)";
    return d + "; vocab " + std::to_string(vocab_size()) + ", windows of " + std::to_string(o_.seq_len);
  }

 private:
  // Training: this rank's rows of the next global batch; returns B.
  int64_t draw(int64_t* p) {
    const int64_t B = s_.batch_size, T = o_.seq_len, W = s_.world;
    const auto seed = static_cast<uint64_t>(s_.seed);
    const auto slots = plan_batch(shares_, counts_, seed, cursor_, B * W);
    for (int64_t t = s_.rank; t < B * W; t += W) {
      const auto i = static_cast<size_t>(slots[static_cast<size_t>(t)].source);
      const auto n = static_cast<uint64_t>(slots[static_cast<size_t>(t)].ordinal);
      const auto range = static_cast<uint64_t>(splits_[i].size() - T);
      splits_[i].copy(static_cast<int64_t>(hash64(seed, i, n) % range), T + 1, p + (t / W) * (T + 1));
    }
    return B;
  }

  // Evaluation: this rank's next windows of the sequential interleave; 0 at its end.
  int64_t walk(int64_t* p) {
    const int64_t B = s_.batch_size, T = o_.seq_len;
    int64_t rows = 0;
    std::vector<bool> open(counts_.size());
    while (rows < B) {
      for (size_t i = 0; i < open.size(); ++i) open[i] = counts_[i] * T + T + 1 <= splits_[i].size();
      const int i = next_source(shares_, counts_, open);
      if (i < 0) break;
      const int64_t start = (counts_[static_cast<size_t>(i)] - 1) * T;
      if (walked_++ % s_.world == s_.rank) splits_[static_cast<size_t>(i)].copy(start, T + 1, p + (rows++) * (T + 1));
    }
    return rows;
  }

  TokenMixtureOptions o_;
  StreamOptions s_;
  std::vector<TokenSplit> splits_;
  std::vector<double> shares_;
  std::vector<int64_t> counts_;  // training: windows drawn per source, all ranks; evaluation: walked
  int64_t cursor_ = 0, walked_ = 0;
};

}  // namespace

std::unique_ptr<BatchStream> make_token_mixture(const TokenMixtureOptions& o, const StreamOptions& s) {
  return std::make_unique<TokenMixture>(o, s);
}

StreamBuilder token_mixture_factory(config::Section& s) {
  TokenMixtureOptions o;
  const auto* list = s.raw("sources");
  bool complete = true;  // every source names an existing prepared folder
  if (!list || !list->is_sequence() || list->items().empty()) {
    s.problem("sources", "expected a non-empty list of {path: DIR, weight: W} (folders made by ptm data prepare)");
    complete = false;
  } else {
    std::set<std::string> names;
    for (size_t i = 0; i < list->items().size(); ++i) {
      const auto& item = list->items()[i];
      config::Section sub(s.context(), &item, s.path_of("sources." + std::to_string(i)), item.origin());
      MixtureSource src;
      if (!sub.req("path", src.path, "a folder made by ptm data prepare").ok()) {
        complete = false;
      } else if (!std::filesystem::exists(src.path + "/manifest.json")) {
        sub.problem("path", "'" + src.path + "' holds no manifest.json (make it with ptm data prepare)");
        complete = false;
      }
      if (sub.opt("weight", src.weight, "relative share of the windows").ok() && !(src.weight >= 0))
        sub.problem("weight", "must be >= 0, got " + config::value_text(src.weight));
      src.name = std::filesystem::path(src.path).lexically_normal().filename().string();
      if (src.name.empty()) src.name = std::filesystem::path(src.path).lexically_normal().parent_path().filename().string();
      sub.opt("name", src.name, "label of the source in metrics.jsonl (tokens_seen_<name>; default: the folder's name)");
      if (!names.insert(src.name).second)
        sub.problem("name", "'" + src.name + "' names another source too (give each source a distinct name:)");
      sub.finish();
      o.sources.push_back(src);
    }
    double sum = 0;
    for (const auto& src : o.sources) sum += std::max(0.0, src.weight);
    if (!(sum > 0)) s.problem("sources", "the weights are all 0: at least one source needs a positive weight");
  }
  s.opt("seq_len", o.seq_len, "tokens per window").min(1).max(1 << 20);
  if (complete && !o.sources.empty()) {
    std::vector<Manifest> manifests;
    try {
      for (const auto& src : o.sources) manifests.push_back(read_manifest(src.path));
      if (const auto why = tokenizer_mismatch(manifests, o.sources); !why.empty()) s.problem("sources", why);
    } catch (const std::exception& e) {
      s.problem("sources", e.what());
    }
  }
  s.finish();
  return [o](const StreamOptions& so) -> std::unique_ptr<BatchStream> {
    if (so.split == "test") return nullptr;  // prepared shards have train and val only
    return make_token_mixture(o, so);
  };
}

}  // namespace ptm::data
