// Edit distance and did-you-mean suggestions.
#include <chrono>

#include "catch.h"
#include "ptm/core/text.h"

using namespace ptm::text;

TEST_CASE("edit distance counts insertions deletions and substitutions", "[unit][core]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("max_stpes", "max_steps") == 1);  // a transposition is one edit
  CHECK(edit_distance("ab", "ba") == 1);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("", "abc") == 3);
  // The same either way round (the shorter word spans the table's rows).
  CHECK(edit_distance("sitting", "kitten") == 3);
  CHECK(edit_distance("max_steps", "max_stpes") == 1);
  CHECK(edit_distance("warmup", "warmup_steps") == 6);
  CHECK(edit_distance("ca", "abc") == 3);  // optimal string alignment, not Damerau: no edit after a swap
}

TEST_CASE("did_you_mean suggests only close names", "[unit][core]") {
  const std::vector<std::string> keys{"max_steps", "batch_size", "log_every"};
  CHECK(did_you_mean("max_stpes", keys) == " (did you mean max_steps?)");
  CHECK(did_you_mean("batchsize", keys) == " (did you mean batch_size?)");
  CHECK(did_you_mean("completely_else", keys).empty());
  CHECK(did_you_mean("log", keys).empty());  // too short for a prefix match
  CHECK(did_you_mean("batch", keys) == " (did you mean batch_size?)");
  CHECK(did_you_mean("c", {"a", "b"}).empty());  // one letter is never "close"
}

TEST_CASE("closest does not build a table for a word far longer than any candidate", "[unit][core]") {
  // Found by the recipe fuzzer: unknown keys of a few hundred bytes were compared against
  // every known key with a full table each, 80 ms per recipe. A length gap above the limit
  // is answer enough.
  const std::vector<std::string> keys{"max_steps", "batch_size", "log_every", "eval_every", "seed"};
  const std::string word(1'000'000, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) CHECK(closest(word, keys).empty());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 0.5);  // the tables took several seconds for each call
  CHECK(closest(std::string(40, 'x') + "max_steps", keys).empty());
  CHECK(closest("max_steps_", keys) == "max_steps");
}

TEST_CASE("split and join are inverse", "[unit][core]") {
  CHECK(split("a.b.c", '.') == std::vector<std::string>{"a", "b", "c"});
  CHECK(split("", '.') == std::vector<std::string>{""});
  CHECK(join(split("train.max_steps", '.'), ".") == "train.max_steps");
}
