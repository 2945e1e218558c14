// ptm_tokenizer_bench: single-thread encode throughput of a ptm tokenizer on text files,
// line by line (what scripts/bench_tokenizer.sh compares with Hugging Face `tokenizers`).
//
//   ptm_tokenizer_bench TOKENIZER FILE... [--repeat N] [--save-trained PATH]
//
// TOKENIZER is a tokenizer.json / vocab.txt / folder, or "train:VOCAB_SIZE:TEXT_FILE" to train
// a byte-level BPE first (saved with --save-trained so Python can load the same one).
// Prints one line: "ptm <kind> <MB> MB <tokens> tokens <seconds> s <MB/s> MB/s" per pass.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ptm/data/tokenizer.h"

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc), files;
    std::string spec, save;
    int repeat = 1;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--repeat" && i + 1 < args.size())
        repeat = std::stoi(args[++i]);
      else if (args[i] == "--save-trained" && i + 1 < args.size())
        save = args[++i];
      else if (spec.empty())
        spec = args[i];
      else
        files.push_back(args[i]);
    }
    if (spec.empty() || files.empty()) {
      std::cerr << "usage: ptm_tokenizer_bench TOKENIZER|train:VOCAB:TEXT FILE... [--repeat N] [--save-trained PATH]\n";
      return 2;
    }
    std::unique_ptr<ptm::data::Tokenizer> tok;
    if (spec.rfind("train:", 0) == 0) {
      const size_t colon = spec.find(':', 6);
      ptm::data::BpeTrainOptions o;
      o.vocab_size = std::stoll(spec.substr(6, colon - 6));
      std::vector<std::string> texts;
      for (auto& l : lines_of(read_all(spec.substr(colon + 1)))) texts.push_back(l + "\n");
      tok = ptm::data::train_byte_bpe(texts, o);
    } else {
      tok = ptm::data::load_tokenizer(spec);
    }
    if (!save.empty()) std::ofstream(save) << tok->to_hf_json();
    std::vector<std::string> lines;
    size_t bytes = 0;
    for (const auto& f : files)
      for (auto& l : lines_of(read_all(f))) {
        bytes += l.size();
        lines.push_back(std::move(l));
      }
    for (int pass = 0; pass < repeat; ++pass) {
      size_t tokens = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& l : lines) tokens += tok->encode(l).size();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("ptm %s %.2f MB %zu lines %zu tokens %.3f s %.2f MB/s\n", tok->kind().c_str(), bytes / 1e6,
                  lines.size(), tokens, s, bytes / 1e6 / s);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ptm_tokenizer_bench: " << e.what() << "\n";
    return 1;
  }
}
