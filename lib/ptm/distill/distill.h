// The `distill` objective (registry "objectives", default of `ptm distill`): a frozen teacher
// (a Hugging Face BERT folder or a ptm run/checkpoint of any architecture) and a student (the
// recipe's model), trained on a weighted sum of
//   alpha * logit KD + (1 - alpha) * cross entropy     (alpha = 1: label-free distillation)
//   + hidden_weight * hidden-state KD                   (layer_map, learned projections)
//   + attention_weight * MiniLM attention-distribution KL + value_weight * value-relation KL
// on the last layers, with relation heads so head counts may differ. Every part is reported
// in the evaluation (kd, ce, hidden, attention, value), with the student's classification
// metrics, the agreement of student and teacher predictions and the teacher's accuracy.
//
//   objective:
//     type: distill
//     teacher: {checkpoint: runs/minilm_sentiment}   # or {hf: folder}; a run = its newest checkpoint
//     temperature: 2.0
//     alpha: 0.5
//     attention_weight: 1.0
//     value_weight: 1.0
//
// The teacher and the student must read the same inputs (one tokenizer). The teacher lives
// at the recipes level: this area depends on ptm/recipes (load_run_model) like ptm eval does.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ptm/objectives/objective.h"

namespace ptm::distill {

struct DistillOptions {
  std::string teacher_hf;                            // teacher.hf: a Hugging Face BERT folder
  std::string teacher_checkpoint;                    // teacher.checkpoint: a ptm run or checkpoint folder
  std::shared_ptr<models::ModelImpl> teacher_model;  // set in code (tests): used as given
  double temperature = 2.0;
  double alpha = 0.5;              // weight of logit KD; 1 - alpha goes to cross entropy on labels
  std::string logit_loss = "kl";   // kl | js
  double hidden_weight = 0.0;
  std::string hidden_loss = "mse";  // mse | cosine
  std::vector<int64_t> layer_map;   // teacher hidden-state index per student layer 1..L; empty: uniform
  double attention_weight = 0.0;    // MiniLM last-layer attention distribution
  double value_weight = 0.0;        // MiniLM last-layer value relation
  int64_t relation_heads = 0;       // 0: the student's attention heads
  std::string cache;                // teacher-logit cache file ("" = none)

  bool internals() const { return hidden_weight > 0 || attention_weight > 0 || value_weight > 0; }
};

class TeacherCache;

class DistillObjective : public objectives::Objective {
 public:
  explicit DistillObjective(DistillOptions o);
  ~DistillObjective() override;

  void attach(models::ModelImpl& model, const torch::Device& device) override;
  objectives::LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) override;
  objectives::LossParts compute(const models::ModelOutput& out, const data::Batch& batch) const override;
  models::NamedTensors parameters() const override;
  torch::Tensor count_targets(const data::Batch& b) const override;
  std::string name() const override { return "distill"; }
  std::vector<std::string> metric_names() const override;
  // The teacher's forward pass; 0 with a teacher-logit cache (after the first epoch the
  // teacher does not run).
  double extra_forward_flops(int64_t seq_len) const override;

  const std::shared_ptr<models::ModelImpl>& teacher() const { return teacher_; }
  const std::vector<int64_t>& layer_map() const { return layer_map_; }  // after attach
  int64_t relation_heads() const { return relation_heads_; }            // after attach
  const TeacherCache* cache() const { return cache_.get(); }

 private:
  DistillOptions o_;
  std::shared_ptr<models::ModelImpl> teacher_;
  std::vector<int64_t> layer_map_;
  std::vector<torch::Tensor> proj_w_, proj_b_;  // per student layer: [H_T, H_S], [H_T]; empty when widths agree
  int64_t relation_heads_ = 0;
  std::unique_ptr<TeacherCache> cache_;
};

// Reads the objective's keys (teacher paths are checked here: ConfigError naming the key).
void bind(config::Section& s, DistillOptions& o);
objectives::ObjectiveFactory distill_factory();

}  // namespace ptm::distill
