// Model inputs: the post-processor's special tokens and type ids, Hugging Face's
// "longest_first" truncation, and padding for single texts and batches.
#include <algorithm>

#include "ptm/data/tokenizer.h"

namespace ptm::data {
namespace {

// Hugging Face's truncate_encodings (LongestFirst) with max_length already net of the specials.
void truncate_pair(std::vector<int32_t>& a, std::vector<int32_t>* b, size_t max_length) {
  if (!b) {
    if (a.size() > max_length) a.resize(max_length);
    return;
  }
  size_t n1 = a.size(), n2 = b->size();
  if (n1 + n2 <= max_length) return;
  const bool swap = n1 > n2;
  if (swap) std::swap(n1, n2);
  n2 = n1 > max_length ? n1 : std::max(n1, max_length - n1);
  if (n1 + n2 > max_length) {
    n1 = max_length / 2;
    n2 = n1 + max_length % 2;
  }
  if (swap) std::swap(n1, n2);
  if (a.size() > n1) a.resize(n1);
  if (b->size() > n2) b->resize(n2);
}

void pad(Encoding& e, size_t length, int32_t pad_id) {
  if (e.ids.size() >= length) return;
  e.ids.resize(length, pad_id);
  e.type_ids.resize(length, 0);
  e.attention_mask.resize(length, 0);
}

Encoding build(const Tokenizer& tok, std::string_view text, std::optional<std::string_view> pair,
               const EncodeOptions& options) {
  std::vector<int32_t> a = tok.encode(text), b;
  if (pair) b = tok.encode(*pair);
  const PostProcessor& post = tok.post_processor();
  if (options.max_length > 0) {
    const size_t added = options.add_special_tokens ? post.added_tokens(pair.has_value()) : 0;
    const auto max_length = static_cast<size_t>(options.max_length);
    truncate_pair(a, pair ? &b : nullptr, max_length > added ? max_length - added : 0);
  }
  Encoding e;
  for (const TemplatePiece& p : pair ? post.pair : post.single) {
    const std::vector<int32_t>* part = &p.ids;
    if (p.kind == TemplatePiece::Kind::kSequenceA)
      part = &a;
    else if (p.kind == TemplatePiece::Kind::kSequenceB)
      part = &b;
    else if (!options.add_special_tokens)
      continue;
    e.ids.insert(e.ids.end(), part->begin(), part->end());
    e.type_ids.insert(e.type_ids.end(), part->size(), p.type_id);
  }
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

}  // namespace

Encoding encode_for_model(const Tokenizer& tok, std::string_view text, std::optional<std::string_view> pair,
                          const EncodeOptions& options) {
  Encoding e = build(tok, text, pair, options);
  if (options.pad_to_max_length && options.max_length > 0)
    pad(e, static_cast<size_t>(options.max_length), tok.pad_id());
  return e;
}

std::vector<Encoding> encode_batch(const Tokenizer& tok, const std::vector<std::string>& texts,
                                   const EncodeOptions& options) {
  std::vector<Encoding> out;
  out.reserve(texts.size());
  size_t longest = 0;
  for (const auto& t : texts) {
    out.push_back(build(tok, t, std::nullopt, options));
    longest = std::max(longest, out.back().ids.size());
  }
  const size_t length =
      options.pad_to_max_length && options.max_length > 0 ? static_cast<size_t>(options.max_length) : longest;
  const int32_t pad_id = tok.pad_id();
  for (auto& e : out) pad(e, length, pad_id);
  return out;
}

}  // namespace ptm::data
