// Edit distance and did-you-mean suggestions.
#include "catch.h"
#include "ptm/core/text.h"

using namespace ptm::text;

TEST_CASE("edit distance counts insertions deletions and substitutions", "[unit][core]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("max_stpes", "max_steps") == 1);  // a transposition is one edit
  CHECK(edit_distance("ab", "ba") == 1);
  CHECK(edit_distance("abc", "") == 3);
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

TEST_CASE("split and join are inverse", "[unit][core]") {
  CHECK(split("a.b.c", '.') == std::vector<std::string>{"a", "b", "c"});
  CHECK(split("", '.') == std::vector<std::string>{""});
  CHECK(join(split("train.max_steps", '.'), ".") == "train.max_steps");
}
