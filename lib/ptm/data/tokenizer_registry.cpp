// Registry entries for tokenizer components.
#include "ptm/data/tokenizer_registry.h"

#include <filesystem>

#include "ptm/config/component.h"

namespace ptm::data {
namespace {

std::vector<std::string> default_specials() { return {"<|endoftext|>"}; }

TokenizerBuilder bytes_factory(config::Section& s) {
  std::vector<std::string> specials = default_specials();
  s.opt("special_tokens", specials, "special tokens after the 256 byte ids");
  s.finish();
  return [specials](const std::vector<std::string>&) { return make_byte_tokenizer(specials); };
}

TokenizerBuilder bpe_factory(config::Section& s) {
  BpeTrainOptions o;
  s.opt("vocab_size", o.vocab_size, "target vocabulary size, specials included").min(257).max(1 << 22);
  s.opt("min_frequency", o.min_frequency, "minimum count of a merged pair").min(1);
  s.opt("special_tokens", o.special_tokens, "special tokens (the first one ends each document)");
  s.finish();
  return [o](const std::vector<std::string>& corpus) { return train_byte_bpe(corpus, o); };
}

TokenizerBuilder pretrained_factory(config::Section& s) {
  std::string path;
  if (s.req("path", path, "tokenizer.json, vocab.txt, vocab.json+merges.txt or a folder with one").ok() &&
      !std::filesystem::exists(path))
    s.problem("path", "'" + path + "' does not exist");
  s.finish();
  return [path](const std::vector<std::string>&) { return load_tokenizer(path); };
}

}  // namespace

Registry<TokenizerFactory>& tokenizers() {
  static Registry<TokenizerFactory> registry = [] {
    Registry<TokenizerFactory> r("tokenizer");
    r.add("bytes", "UTF-8 bytes (256 ids) plus special tokens; lossless, no training", bytes_factory);
    r.add("bpe", "byte-level BPE (GPT-2 style) trained on the corpus being prepared", bpe_factory);
    r.add("pretrained", "load a Hugging Face tokenizer (tokenizer.json, vocab.txt, vocab.json+merges.txt)",
          pretrained_factory);
    return r;
  }();
  return registry;
}

TokenizerSpec parse_tokenizer(config::Section s) {
  TokenizerSpec spec;
  const auto* entry = config::component_entry(s, tokenizers());
  if (!entry) {
    s.finish();
    return spec;
  }
  spec.type = entry->name;
  spec.needs_corpus = entry->name == "bpe";
  spec.build = entry->factory(s);
  return spec;
}

}  // namespace ptm::data
