// Small string helpers shared by config checking and the CLI.
#pragma once
#include <string>
#include <vector>

namespace ptm::text {

// Levenshtein distance (for did-you-mean suggestions).
size_t edit_distance(const std::string& a, const std::string& b);

// The closest candidate within a distance that scales with the word's length, or "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean X?)" or "" when nothing is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& parts, const std::string& sep);
std::vector<std::string> split(const std::string& s, char sep);

}  // namespace ptm::text
