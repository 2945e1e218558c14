// Data set "task_mixture": the examples of several labelled data sets in the recipe's
// proportions, per example as data type "mixture" draws windows. Training: each global batch
// (B*W examples, every rank's rows of one step) takes its sources from plan_batch()
// (mixture.h), so every source is within one example of its share after any number of
// examples, shuffled over rows and ranks. Source i's n-th example is the n-th of its own
// seeded epochs (epoch_permutation), counted over all ranks: W ranks of B rows draw what one
// process draws with batches of W*B, and a one-source mixture in one process draws exactly the
// batches of its data set. Rows of different sources are padded to one length. The state is the batches drawn and each
// source's examples so far, over all ranks; the trainer logs them as examples_seen_<name>.
// Evaluation: whole batches of one source at a time, interleaved by the same rule, each
// source's split walked once (ranks sharding each source); sources with weight 0 are not read.
#include "ptm/data/task_mixture.h"

#include <algorithm>

#include "ptm/core/errors.h"
#include "ptm/data/example_stream.h"
#include "ptm/data/mixture.h"
#include "ptm/data/sourced_stream.h"

namespace ptm::data {
namespace {

std::string source_key(size_t i) { return "data.sources." + std::to_string(i); }

// The rows of `parts` (batches of one source each) in the order `rows` gives: rows[k][j] is
// where the j-th row of parts[k] goes. Token rows have one length (the batches were padded to it).
Batch join_rows(const std::vector<Batch>& parts, const std::vector<std::vector<int64_t>>& rows, int64_t B) {
  std::vector<int64_t> from(static_cast<size_t>(B));
  int64_t at = 0;
  for (const auto& r : rows)
    for (const auto row : r) from[static_cast<size_t>(row)] = at++;
  const auto order = torch::tensor(from, torch::kInt64);
  const auto join = [&](torch::Tensor Batch::*field) {
    std::vector<torch::Tensor> pieces;
    for (const auto& p : parts)
      if ((p.*field).defined()) pieces.push_back(p.*field);
    return pieces.empty() ? torch::Tensor() : torch::cat(pieces).index_select(0, order);
  };
  Batch out;
  for (auto field : {&Batch::input_ids, &Batch::targets, &Batch::attention_mask, &Batch::token_type_ids, &Batch::labels,
                     &Batch::images})
    out.*field = join(field);
  return out;
}

class TaskMixture : public BatchStream, public SourcedStream {
 public:
  TaskMixture(const TaskMixtureOptions& o, const StreamOptions& s) : o_(o), s_(s) {
    double sum = 0;
    for (const auto& src : o.sources) sum += src.weight;
    for (size_t i = 0; i < o.sources.size(); ++i) {
      shares_.push_back(o.sources[i].weight / sum);
      owned_.emplace_back();
      sources_.push_back(nullptr);
      if (!(shares_[i] > 0)) continue;  // weight 0: not read at all
      // Training draws the rows here, for every rank: the source only gathers examples.
      StreamOptions so = s;
      if (s.train) {
        so.rank = 0;
        so.world = 1;
      }
      try {
        owned_[i] = o.sources[i].build(so);
      } catch (const IoError& e) {
        throw IoError(source_key(i) + " ('" + o.sources[i].name + "'): " + e.what());
      }
      if (!owned_[i]) {
        if (s.train) throw RuntimeError(source_key(i) + " ('" + o.sources[i].name + "') has no training split");
        continue;  // no such split (test)
      }
      sources_[i] = dynamic_cast<ExampleStream*>(owned_[i].get());
      if (!sources_[i])
        throw ConfigError(Origin{}, source_key(i) + ".type",
                          "is not a data set of examples (text_classification, token_classification, idx_images)");
      if (s.train && sources_[i]->examples() == 0)
        throw IoError(source_key(i) + " ('" + o.sources[i].name + "') has no training examples");
    }
    check_image_shapes();
    counts_.assign(o.sources.size(), 0);
    done_.assign(o.sources.size(), false);
    order_.resize(o.sources.size());
    order_epoch_.assign(o.sources.size(), -1);
  }

  bool empty() const {
    return std::none_of(sources_.begin(), sources_.end(), [](const ExampleStream* x) { return x != nullptr; });
  }

  std::optional<Batch> next() override { return s_.train ? draw() : walk(); }

  nlohmann::json state() const override {
    nlohmann::json per_source = nlohmann::json::object();
    for (size_t i = 0; i < counts_.size(); ++i) per_source[o_.sources[i].name] = counts_[i];
    return {{"batches", cursor_}, {"examples", counts_}, {"source_examples", per_source}};
  }
  void load_state(const nlohmann::json& st) override {
    // From a checkpoint's state.json: a damaged or edited value must not index outside an order.
    const bool counts_ok = st.is_object() && st.contains("examples") && st["examples"].is_array() &&
                           std::all_of(st["examples"].begin(), st["examples"].end(), [](const nlohmann::json& x) {
                             return x.is_number_integer() && x.get<int64_t>() >= 0;
                           });
    if (!counts_ok || !st.contains("batches") || !st["batches"].is_number_integer() || st["batches"].get<int64_t>() < 0)
      throw IoError(
          "the checkpoint's data state is not a task mixture's position (batches and examples, "
          "non-negative integers): " +
          st.dump());
    const auto counts = st["examples"].get<std::vector<int64_t>>();
    if (counts.size() != counts_.size())
      throw ConfigError(Origin{}, "data.sources",
                        "the checkpoint's data position is of a task mixture of " + std::to_string(counts.size()) +
                            " sources, this recipe has " + std::to_string(counts_.size()));
    cursor_ = st["batches"].get<int64_t>();
    counts_ = counts;
  }

  int64_t examples() const override {
    int64_t n = 0;
    for (const auto* x : sources_) n += x ? x->examples() : 0;
    return n;
  }
  int64_t vocab_size() const override {
    for (const auto* x : sources_)
      if (x) return x->vocab_size();
    return 0;
  }
  int64_t sequence_length() const override {
    int64_t n = 0;
    for (const auto* x : sources_) n = std::max(n, x ? x->sequence_length() : 0);
    return n;
  }
  std::string describe() const override {
    std::string d = "task_mixture [" + s_.split + "] of " + std::to_string(sources_.size()) + " sources:";
    for (size_t i = 0; i < sources_.size(); ++i)
      d += std::string(i ? "," : "") + " " + o_.sources[i].name + " (share " + std::to_string(shares_[i]) + ", " +
           (sources_[i] ? std::to_string(sources_[i]->examples()) + " examples)" : "not read)");
    return d;
  }

  std::vector<std::string> source_names() const override {
    std::vector<std::string> names;
    for (const auto& src : o_.sources) names.push_back(src.name);
    return names;
  }
  int batch_source() const override { return batch_source_; }

 private:
  // Images of one shape only: the rows of a batch are stacked.
  void check_image_shapes() {
    int first = -1;
    torch::Tensor shape;
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (!sources_[i] || sources_[i]->examples() == 0) continue;
      const auto b = sources_[i]->batch_of({0});
      if (!b.images.defined()) return;
      const auto dims = torch::tensor(b.images.sizes().slice(1).vec(), torch::kInt64);
      if (first < 0) {
        first = static_cast<int>(i);
        shape = dims;
      } else if (!torch::equal(dims, shape)) {
        const auto text = [](const torch::Tensor& t) {
          std::string out;
          for (int64_t k = 0; k < t.numel(); ++k) out += (k ? "x" : "") + std::to_string(t[k].item<int64_t>());
          return out;
        };
        throw ConfigError(Origin{}, source_key(i) + ".path",
                          "images of " + text(dims) + " differ from the " + text(shape) + " images of " +
                              source_key(static_cast<size_t>(first)) + ": one model reads them all");
      }
    }
  }

  // Source i's n-th training example (over all ranks and epochs).
  int64_t example_of(size_t i, int64_t n) {
    const int64_t count = sources_[i]->examples(), epoch = n / count;
    if (order_epoch_[i] != epoch) {
      // Source 0 keeps the run's seed: a one-source mixture is its data set.
      const auto seed = static_cast<uint64_t>(s_.seed) ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i));
      order_[i] = epoch_permutation(count, seed, epoch);
      order_epoch_[i] = epoch;
    }
    return order_[i][static_cast<size_t>(n % count)];
  }

  // Training: this rank's rows of the next global batch.
  std::optional<Batch> draw() {
    const int64_t B = s_.batch_size, W = s_.world;
    const auto slots = plan_batch(shares_, counts_, static_cast<uint64_t>(s_.seed), cursor_++, B * W);
    std::vector<std::vector<int64_t>> index(sources_.size()), rows(sources_.size());
    for (int64_t j = 0; j < B; ++j) {
      const auto& slot = slots[static_cast<size_t>(j * W + s_.rank)];
      const auto i = static_cast<size_t>(slot.source);
      index[i].push_back(example_of(i, slot.ordinal));
      rows[i].push_back(j);
    }
    std::vector<Batch> parts;
    std::vector<std::vector<int64_t>> where;
    int64_t T = 0;
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (index[i].empty()) continue;
      parts.push_back(sources_[i]->batch_of(index[i]));
      where.push_back(rows[i]);
      if (parts.back().input_ids.defined()) T = std::max(T, parts.back().input_ids.size(1));
    }
    // Padding to the longest row: a source whose rows are shorter is padded again, to T.
    for (size_t k = 0, i = 0; i < sources_.size(); ++i) {
      if (index[i].empty()) continue;
      if (parts[k].input_ids.defined() && parts[k].input_ids.size(1) < T) parts[k] = sources_[i]->batch_of(index[i], T);
      ++k;
    }
    return join_rows(parts, where, B);
  }

  // Evaluation: the next batch of the source the interleave names; nullopt when all are walked.
  std::optional<Batch> walk() {
    std::vector<bool> open(sources_.size());
    for (;;) {
      for (size_t i = 0; i < open.size(); ++i) open[i] = sources_[i] && !done_[i];
      const int i = next_source(shares_, counts_, open);
      if (i < 0) return std::nullopt;
      auto b = sources_[static_cast<size_t>(i)]->next();
      if (b) {
        ++cursor_;
        batch_source_ = i;
        return b;
      }
      done_[static_cast<size_t>(i)] = true;
      --counts_[static_cast<size_t>(i)];
    }
  }

  TaskMixtureOptions o_;
  StreamOptions s_;
  std::vector<std::unique_ptr<BatchStream>> owned_;
  std::vector<ExampleStream*> sources_;  // null: weight 0, or no such split
  std::vector<double> shares_;
  std::vector<int64_t> counts_;              // training: examples drawn per source, all ranks; evaluation: batches
  std::vector<bool> done_;                   // evaluation: the source's split is walked
  std::vector<std::vector<int64_t>> order_;  // per source: the permutation of epoch order_epoch_
  std::vector<int64_t> order_epoch_;
  int64_t cursor_ = 0;
  int batch_source_ = -1;
};

}  // namespace

std::unique_ptr<BatchStream> make_task_mixture(const TaskMixtureOptions& o, const StreamOptions& s) {
  auto stream = std::make_unique<TaskMixture>(o, s);
  if (!s.train && stream->empty()) return nullptr;
  return stream;
}

}  // namespace ptm::data
