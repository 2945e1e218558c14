// Data set "task_mixture": fine-tuning examples drawn from several labelled data sets (tasks)
// in given proportions, for one model head (recipe: data: {type: task_mixture, sources:
// [{type: text_classification, train: ..., tokenizer: ..., weight: 0.7, name: a}, ...]}).
// The sources must agree on what the head reads: one data set type, one tokenizer, the same
// labels in the same id order, and (padding to max_length) one max_length.
#pragma once
#include "ptm/data/dataset.h"

namespace ptm::data {

struct TaskSource {
  std::string name;     // label in the metrics (examples_seen_<name>, eval_<name>/<metric>)
  double weight = 1;    // relative share of the training examples (>= 0, not all 0)
  StreamBuilder build;  // the source's own data set: text_classification, token_classification, idx_images
};

struct TaskMixtureOptions {
  std::vector<TaskSource> sources;
};

// Null for split "test" when no source has a test split.
std::unique_ptr<BatchStream> make_task_mixture(const TaskMixtureOptions& o, const StreamOptions& s);
StreamBuilder task_mixture_factory(config::Section& s);

}  // namespace ptm::data
