// Tag ids, word-piece alignment and padding for token classification.
#include "ptm/data/token_classification.h"

#include <map>
#include <set>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/data/conll.h"
#include "ptm/data/example_stream.h"

namespace ptm::data {
namespace {

std::vector<std::string> sorted_tags(const std::vector<TaggedSentence>& sentences) {
  std::set<std::string> seen;
  for (const auto& sentence : sentences) seen.insert(sentence.tags.begin(), sentence.tags.end());
  return {seen.begin(), seen.end()};
}

class TokenClassification : public ExampleStream {
 public:
  TokenClassification(const TokenClassificationOptions& o, const StreamOptions& s) : ExampleStream(s), o_(o) {
    const std::string file = split_file(o, s.split, "token_classification");
    const auto all = read_conll(file);
    // Sorted unique tags of the training file: the same ids for every split.
    names_ = o.labels.empty() && file == o.train ? sorted_tags(all) : tag_names(o);
    std::map<std::string, int64_t> id;
    for (size_t i = 0; i < names_.size(); ++i) id[names_[i]] = static_cast<int64_t>(i);
    const auto continuation = continuation_tags(names_);
    const auto tok = load_tokenizer(o.tokenizer);
    AlignOptions ao;
    ao.max_length = o.max_length;
    ao.label_all_pieces = o.label_all_pieces;
    for (const auto i : split_examples(o, s.split, static_cast<int64_t>(all.size()))) {
      const auto& sentence = all[i];
      std::vector<int64_t> tags;
      for (size_t w = 0; w < sentence.tags.size(); ++w) {
        const auto it = id.find(sentence.tags[w]);
        if (it == id.end())
          throw IoError(file + ":" + std::to_string(sentence.line + static_cast<int64_t>(w)) + ": tag '" +
                        sentence.tags[w] + "' is not one of the tags (" + std::to_string(names_.size()) + " known)");
        tags.push_back(it->second);
      }
      auto aligned = align_tags(*tok, sentence.words, tags, continuation, ao);
      words_ += static_cast<int64_t>(sentence.words.size());
      words_cut_ += aligned.words_cut;
      examples_.push_back(std::move(aligned));
    }
    if (words_cut_ > 0)
      log::warn("token_classification [" + s.split + "]: " + std::to_string(words_cut_) + " of " +
                std::to_string(words_) + " words lie beyond max_length=" + std::to_string(o.max_length) +
                " and are not labelled (raise data.max_length)");
    pad_id_ = tok->pad_id();
    vocab_ = tok->vocab_size();
    set_count(static_cast<int64_t>(examples_.size()));
  }

  std::string describe() const override {
    std::string s = "token_classification [" + s_.split + "]: " + std::to_string(examples_.size()) + " sentences, " +
                    std::to_string(words_) + " words; " + std::to_string(names_.size()) + " tags:";
    for (const auto& n : names_) s += " " + n;
    return s;
  }
  int64_t vocab_size() const override { return vocab_; }
  int64_t sequence_length() const override { return o_.max_length; }

 protected:
  Batch gather(const std::vector<int64_t>& index, int64_t min_length) override {
    int64_t T = o_.max_length;
    if (o_.pad_to == "longest") {
      T = 1;
      for (auto i : index) T = std::max<int64_t>(T, static_cast<int64_t>(examples_[i].encoding.ids.size()));
    }
    T = std::max(T, min_length);
    const auto B = static_cast<int64_t>(index.size());
    auto ids = torch::full({B, T}, pad_id_, torch::kInt64);
    auto mask = torch::zeros({B, T}, torch::kInt64);
    auto types = torch::zeros({B, T}, torch::kInt64);
    auto labels = torch::full({B, T}, kIgnoreLabel, torch::kInt64);
    auto* pi = ids.data_ptr<int64_t>();
    auto* pm = mask.data_ptr<int64_t>();
    auto* pt = types.data_ptr<int64_t>();
    auto* pl = labels.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& x = examples_[index[b]];
      const int64_t n = std::min<int64_t>(T, static_cast<int64_t>(x.encoding.ids.size()));
      for (int64_t t = 0; t < n; ++t) {
        pi[b * T + t] = x.encoding.ids[t];
        pm[b * T + t] = 1;
        pt[b * T + t] = x.encoding.type_ids[t];
        pl[b * T + t] = x.labels[t];
      }
    }
    Batch out;
    out.input_ids = ids;
    out.attention_mask = mask;
    out.token_type_ids = types;
    out.labels = labels;
    return out;
  }

 private:
  TokenClassificationOptions o_;
  std::vector<AlignedExample> examples_;
  std::vector<std::string> names_;
  int64_t pad_id_ = 0, vocab_ = 0, words_ = 0, words_cut_ = 0;
};

}  // namespace

std::vector<std::string> tag_names(const TokenClassificationOptions& o) {
  return o.labels.empty() ? sorted_tags(read_conll(o.train)) : o.labels;
}

std::unique_ptr<BatchStream> make_token_classification(const TokenClassificationOptions& o, const StreamOptions& s) {
  if (s.split == "test" && o.test.empty()) return nullptr;
  auto stream = std::make_unique<TokenClassification>(o, s);
  log::info(stream->describe());
  return stream;
}

void bind(config::Section& s, TokenClassificationOptions& o) {
  bind_split_files(s, o, "CoNLL style: a word and its tag per line, a blank line between sentences");
  if (s.req("tokenizer", o.tokenizer, "tokenizer.json, vocab.txt or a folder").ok())
    check_path_exists(s, "tokenizer", o.tokenizer);
  s.opt("labels", o.labels, "tag names in id order (default: sorted tags of the training file)");
  s.opt("max_length", o.max_length, "tokens per sentence, specials included").min(2).max(1 << 16);
  s.opt("pad_to", o.pad_to, "max_length | longest").one_of({"max_length", "longest"});
  s.opt("label_all_pieces", o.label_all_pieces,
        "tag every piece of a word (B-X as I-X after the first), not only the first");
}

StreamBuilder token_classification_factory(config::Section& s) {
  TokenClassificationOptions o;
  bind(s, o);
  s.finish();
  return [o](const StreamOptions& so) { return make_token_classification(o, so); };
}

}  // namespace ptm::data
