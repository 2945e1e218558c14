// `ptm merge`: weights of several runs into one plain model (a Hugging Face folder written by
// models::save_hf_folder, plus merge.json saying what was done).
//   lora         fold a LoRA run's low-rank updates into its base weights
//   soup         uniform average of runs that share an initialisation; greedy: ingredients in
//                order of held-out metric, each kept only if the soup does not get worse
//   task-vector  base + sum_i coef_i (theta_i - base)
// Inputs are run directories (newest checkpoint) or checkpoint folders; a task-vector base may
// also be a Hugging Face folder. Incompatible inputs (architecture, tensor names or shapes,
// initialisation) are a ConfigError naming the file (exit code 2). Torch-free header.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::peft {

struct MergeOutput {
  std::string out;
  bool overwrite = false;
};

nlohmann::json merge_lora_run(const std::string& from, const MergeOutput& out);

struct SoupOptions {
  std::vector<std::string> inputs;
  bool greedy = false;
  std::string eval_config;                  // recipe whose data: val split is the held-out set
  std::vector<std::string> eval_overrides;  // key=value for that recipe
  std::string metric;                       // default: accuracy when reported, else loss
  std::string device = "cpu";
  int64_t eval_batches = 0;  // 0: the whole split
};
nlohmann::json merge_soup(const SoupOptions& o, const MergeOutput& out);

struct TaskVectorOptions {
  std::string base;
  std::vector<std::string> inputs;
  std::vector<double> coef;  // one per input, or one for all; default 1
};
nlohmann::json merge_task_vector(const TaskVectorOptions& o, const MergeOutput& out);

}  // namespace ptm::peft
