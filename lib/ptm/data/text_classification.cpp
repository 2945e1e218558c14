// Reading, label mapping, encoding and padding for text classification.
#include "ptm/data/text_classification.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/data/example_stream.h"
#include "ptm/data/tokenizer.h"

namespace ptm::data {

std::vector<TextRecord> read_text_records(const std::string& path, const TextClassificationOptions& o) {
  return read_text_records(path, TextFields{o.text_field, o.pair_field, o.label_field});
}

float numeric_label(const TextRecord& r, const std::string& path) {
  const std::string& t = r.label;
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v))
    throw IoError(path + ":" + std::to_string(r.line) + ": label '" + t +
                  "' is not a number (label_type number, as objective regression needs)");
  return static_cast<float>(v);
}

std::vector<std::string> class_names(const TextClassificationOptions& o) {
  if (o.label_type == "number") return {};
  if (!o.labels.empty()) return o.labels;
  std::set<std::string> seen;
  for (const auto& r : read_text_records(o.train, o)) seen.insert(r.label);
  return {seen.begin(), seen.end()};
}

namespace {

class TextClassification : public ExampleStream {
 public:
  TextClassification(const TextClassificationOptions& o, const StreamOptions& s) : ExampleStream(s), o_(o) {
    const std::string file = split_file(o, s.split, "text_classification");
    auto records = read_text_records(file, o);
    {  // the split's share of the file (a held-out validation share, or all of it)
      std::vector<TextRecord> kept;
      for (const auto i : split_examples(o, s.split, static_cast<int64_t>(records.size())))
        kept.push_back(std::move(records[i]));
      records = std::move(kept);
    }
    tok_ = load_tokenizer(o.tokenizer);
    EncodeOptions eo;
    eo.max_length = o.max_length;
    numeric_ = o.label_type == "number";
    const std::vector<std::string> names = class_names(o);
    std::map<std::string, int64_t> id;
    for (size_t i = 0; i < names.size(); ++i) id[names[i]] = static_cast<int64_t>(i);
    std::vector<int64_t> counts(names.size(), 0);
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      if (numeric_) {
        value_.push_back(numeric_label(r, file));
      } else {
        const auto it = id.find(r.label);
        if (it == id.end())
          throw IoError(file + ":" + std::to_string(r.line) + ": label '" + r.label + "' is not one of the labels (" +
                        std::to_string(names.size()) + " known)");
        label_.push_back(it->second);
        ++counts[it->second];
      }
      enc_.push_back(encode_for_model(*tok_, r.text,
                                      o.pair_field.empty() ? std::nullopt : std::optional<std::string_view>(r.pair), eo));
    }
    pad_id_ = tok_->pad_id();
    names_ = names;
    counts_ = counts;
    set_count(static_cast<int64_t>(enc_.size()));
  }

  std::string describe() const override {
    std::string s = "text_classification [" + s_.split + "]: " + std::to_string(enc_.size()) + " examples;";
    if (numeric_ && !value_.empty()) {
      const auto [lo, hi] = std::minmax_element(value_.begin(), value_.end());
      return s + " numeric labels in [" + std::to_string(*lo) + ", " + std::to_string(*hi) + "]";
    }
    for (size_t i = 0; i < names_.size(); ++i) s += " " + names_[i] + "=" + std::to_string(counts_[i]);
    return s;
  }
  int64_t vocab_size() const override { return tok_->vocab_size(); }
  int64_t sequence_length() const override { return o_.max_length; }

 protected:
  Batch gather(const std::vector<int64_t>& index, int64_t min_length) override {
    int64_t T = o_.max_length;
    if (o_.pad_to == "longest") {
      T = 1;
      for (auto i : index) T = std::max<int64_t>(T, static_cast<int64_t>(enc_[i].ids.size()));
    }
    T = std::max(T, min_length);
    const auto B = static_cast<int64_t>(index.size());
    auto ids = torch::full({B, T}, pad_id_, torch::kInt64);
    auto mask = torch::zeros({B, T}, torch::kInt64);
    auto types = torch::zeros({B, T}, torch::kInt64);
    auto labels = torch::empty({B}, numeric_ ? torch::kFloat32 : torch::kInt64);
    auto* pi = ids.data_ptr<int64_t>();
    auto* pm = mask.data_ptr<int64_t>();
    auto* pt = types.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& e = enc_[index[b]];
      const int64_t n = std::min<int64_t>(T, static_cast<int64_t>(e.ids.size()));
      for (int64_t t = 0; t < n; ++t) {
        pi[b * T + t] = e.ids[t];
        pm[b * T + t] = 1;
        pt[b * T + t] = t < static_cast<int64_t>(e.type_ids.size()) ? e.type_ids[t] : 0;
      }
      if (numeric_)
        labels[b] = value_[index[b]];
      else
        labels[b] = label_[index[b]];
    }
    Batch out;
    out.input_ids = ids;
    out.attention_mask = mask;
    out.token_type_ids = types;
    out.labels = labels;
    return out;
  }

 private:
  TextClassificationOptions o_;
  std::unique_ptr<Tokenizer> tok_;
  std::vector<Encoding> enc_;
  std::vector<int64_t> label_, counts_;
  std::vector<float> value_;  // label_type number
  std::vector<std::string> names_;
  bool numeric_ = false;
  int64_t pad_id_ = 0;
};

}  // namespace

std::unique_ptr<BatchStream> make_text_classification(const TextClassificationOptions& o, const StreamOptions& s) {
  if (s.split == "test" && o.test.empty()) return nullptr;
  auto stream = std::make_unique<TextClassification>(o, s);
  log::info(stream->describe());
  return stream;
}

void bind(config::Section& s, TextClassificationOptions& o) {
  bind_split_files(s, o, "TSV with a header row, or JSONL");
  if (s.req("tokenizer", o.tokenizer, "tokenizer.json, vocab.txt or a folder").ok()) check_path_exists(s, "tokenizer", o.tokenizer);
  s.opt("text_field", o.text_field, "column/key with the text");
  s.opt("pair_field", o.pair_field, "column/key with the second text of a pair");
  s.opt("label_field", o.label_field, "column/key with the label");
  s.opt("labels", o.labels, "label names in id order (default: sorted training labels)");
  s.opt("label_type", o.label_type, "class | number (default: number for objective regression, else class)")
      .one_of({"class", "number"});
  if (o.label_type == "number" && !o.labels.empty())
    s.problem("labels", "names classes, but label_type is number (labels are read as numbers)");
  s.opt("max_length", o.max_length, "tokens per example, specials included").min(2).max(1 << 16);
  s.opt("pad_to", o.pad_to, "max_length | longest").one_of({"max_length", "longest"});
}

StreamBuilder text_classification_factory(config::Section& s) {
  TextClassificationOptions o;
  bind(s, o);
  s.finish();
  return [o](const StreamOptions& so) { return make_text_classification(o, so); };
}

}  // namespace ptm::data
