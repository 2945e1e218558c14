// The one training loop (DESIGN §6) shared by every subcommand. Per step: evaluate when due
// -> checkpoint when due -> stop check (signal or max steps) -> sample -> forward ->
// backward (accumulated, normalised by the targets of all micro-batches) -> clip -> lr from
// the schedule -> optimizer step -> zero grads -> metrics. Losses stay on the device and
// are read only at log intervals (no host sync per step).
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/config/run_config.h"
#include "ptm/core/run_dir.h"
#include "ptm/data/dataset.h"
#include "ptm/dist/process_group.h"
#include "ptm/models/model.h"
#include "ptm/objectives/objective.h"
#include "ptm/optim/optimizer.h"
#include "ptm/optim/schedule.h"
#include "ptm/train/step_hook.h"
#include "ptm/train/train_config.h"

namespace ptm::train {

struct TrainerSetup {
  config::RunConfig run;
  TrainConfig train;
  optim::OptimizerConfig optimizer;
  std::shared_ptr<models::ModelImpl> model;  // already on `device`
  std::unique_ptr<objectives::Objective> objective;
  data::StreamBuilder data;
  optim::ScheduleBuilder schedule;
  std::string device = "cpu";
  std::string resume_from;  // a checkpoint folder to continue from, or ""
  nlohmann::json provenance;  // stored in every trainer_state.json
  std::string sample_tokenizer;  // for train.sample_every; "" = no samples
  // Data parallel (null: one process). Each rank reads its share of the data; rank 0 alone
  // writes metrics, predictions and checkpoints (holding every rank's data cursor and RNG).
  dist::Group* group = nullptr;
  // Runs around every optimizer step, checkpointed with the run (null: none). prune: masks.
  std::shared_ptr<StepHook> hook;
};

struct TrainResult {
  int64_t step = 0;            // optimizer steps done (including resumed ones)
  int64_t tokens = 0;          // input tokens seen (non-padding; images: samples)
  int64_t targets = 0;         // positions or examples the loss was computed on
  double train_loss = 0;       // mean over the last log interval
  double eval_loss = -1;       // last evaluation (-1: none)
  nlohmann::json eval;         // last evaluation's metrics (split "val")
  nlohmann::json test;         // the one evaluation of split "test" after training (null: none)
  bool stopped = false;        // stopped by a signal (a checkpoint was saved)
  bool early_stopped = false;  // stopped because train.best_metric stopped improving
  int64_t best_step = -1;      // step of checkpoints/best (-1: no best_metric)
  double best_value = 0;
  int64_t skipped_steps = 0;   // steps skipped for a non-finite loss (nan_policy skip)
  int64_t graph_replays = 0;   // steps run as a replay of the captured step (train.cuda_graph)
  double seconds = 0;
  double tokens_per_s = 0;     // input tokens (images: samples) per second
  double targets_per_s = 0;
  std::string unit = "tokens";  // "samples" for image batches
};

// Runs to train.max_steps (or a stop signal) writing metrics.jsonl and checkpoints into
// `run_dir`. Evaluations during training (best checkpoint, early stopping) read split "val";
// a run that ends (not stopped by a signal) then evaluates split "test" once, when the data
// has one. Throws RuntimeError on a non-finite loss, naming the step.
TrainResult run_training(TrainerSetup& setup, const RunDir& run_dir);

// One evaluation pass of at most `max_batches` batches: loss, perplexity (LMs), the
// objective's summed metrics (accuracy, ...) and, for objectives with per-example outputs,
// macro-F1/MCC/precision/recall or MSE/Pearson/Spearman. `predictions`, when given, receives
// one row per example: {index, label, prediction[, probabilities]}. `precision` is the run's
// train.precision (autocast as in training: an fp32 run evaluates in fp32). With `group`,
// each rank evaluates its share of the split and the results are those of the whole.
nlohmann::json evaluate(models::ModelImpl& model, objectives::Objective& objective, data::BatchStream& stream,
                        const torch::Device& device, int64_t max_batches, const std::string& precision,
                        std::vector<nlohmann::json>* predictions = nullptr, dist::Group* group = nullptr);

}  // namespace ptm::train
