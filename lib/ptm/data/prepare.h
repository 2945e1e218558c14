// Corpus preparation (`ptm data prepare`): text files, folders or JSONL/TSV records (plain,
// gzip or zstd) -> tokenizer (trained or loaded) -> token shards with a train/val split ->
// manifest. Streams: one pass over the files hashes them, counts documents, deduplicates and
// keeps the tokenizer's training sample (reading and hashing on all cores, deciding in corpus
// order); a second encodes batches of pieces on all cores and appends the ids to the shards in
// corpus order. Memory is bounded by `memory_mb` (plus the sample).
//
// Output folder:
//   tokenizer.json        the tokenizer (HF format)
//   train_000000.bin ...  token shards (see shard.h); documents end with the EOS token
//   val_000000.bin ...
//   manifest.json         sources (bytes, sha256), tokenizer hash, shard hashes, token counts
//   prepare.yaml          the resolved recipe
// The folder is built as <out>.partial and renamed at the end: never half-written. After each
// finished shard <out>.partial/resume.json lists both splits' shards (open ones flushed) and
// the document being encoded; the same recipe, killed and run again, continues from that
// document and gives the same bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/data/dedup.h"
#include "ptm/data/tokenizer_registry.h"

namespace ptm::data {

struct PrepareConfig {
  std::vector<std::string> sources;  // files or folders (folders: every file ending in an extension)
  std::vector<std::string> extensions{".txt", ".md", ".rst", ".jsonl", ".tsv"};
  std::string format = "text";       // text: a file is a document | jsonl | tsv: a record is a document
  std::string field = "text";        // the JSONL key / TSV column holding the text
  std::string out;                   // output folder
  double val_fraction = 0.01;
  int64_t shard_tokens = 100'000'000;
  int threads = 0;                   // reading (pass 1) and encoding threads; 0 = all cores
  int64_t tokenizer_train_bytes = 0; // cap on text used to train a tokenizer; 0 = all
  std::string eos_token;             // appended after each document; default: the first special token
  int64_t seed = 1337;               // document-level split
  int64_t memory_mb = 256;           // bound on text and ids in flight (not counting the sample)
  int64_t min_document_bytes = 1;    // shorter documents are dropped (1: empty ones)
  int64_t max_document_bytes = 0;    // longer documents are dropped; 0 = no limit
  TokenizerSpec tokenizer;
  DedupConfig dedup;                 // off unless the recipe's dedup: asks (see dedup.h)
  std::vector<double> weights;       // one per source: a weighted mixture (see mixture.h); empty = all text
  std::string invalid_utf8 = "replace";  // bytes that are not UTF-8: replace | skip | error (utf8_check.h)
};

void bind(config::Section& s, PrepareConfig& c);

struct PrepareResult {
  std::string out;
  int64_t documents = 0, train_tokens = 0, val_tokens = 0, vocab_size = 0;
  int64_t documents_read = 0;  // parsed from the files, before filters, deduplication and mixing
  int64_t dropped_length = 0, dropped_exact = 0, dropped_near = 0, unused_by_mixture = 0;
  // Documents read with bytes that are not UTF-8 (replaced, or dropped under skip), and those bytes'
  // maximal invalid sequences.
  int64_t invalid_utf8_documents = 0, invalid_utf8_sequences = 0, dropped_invalid_utf8 = 0;
  struct Source {
    std::string source;
    double weight = 0, byte_share = 0, token_share = 0;  // realised shares of the mixture
    int64_t documents = 0, tokens = 0;
  };
  std::vector<Source> mixture;  // with `weights`: one per source
  bool resumed = false;  // continued a killed run's <out>.partial
  double seconds = 0;
  std::string manifest_sha256;
};

// Runs the whole preparation. `resolved_yaml` is stored as prepare.yaml. Refuses an existing
// `out` unless `overwrite` (ConfigError naming the folder).
PrepareResult prepare_corpus(const PrepareConfig& c, const std::string& resolved_yaml, bool overwrite);

// The documents in `content`, the text of `path`: the whole text (format "text"), the string
// `field` of each JSONL line, or the `field` column of a TSV with a header row. IoError naming
// path:line. Torch-free, like the rest of preparation (the fuzz target calls it).
std::vector<std::string> parse_documents(const std::string& content, const std::string& path,
                                         const std::string& format, const std::string& field);

// Files a `sources` list expands to, sorted, each checked to exist (IoError otherwise). With
// `weights`, one list per source (sorted within it); else one list of all files.
std::vector<std::vector<std::string>> expand_sources(const PrepareConfig& c);

}  // namespace ptm::data
