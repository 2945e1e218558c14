// `ptm data inspect`: a prepared folder's manifest in a few lines, every shard checked,
// and the first validation tokens decoded with the folder's own tokenizer.
#pragma once
#include <cstdint>
#include <string>

namespace ptm::data {

std::string inspect_prepared(const std::string& dir, int64_t tokens);

}  // namespace ptm::data
