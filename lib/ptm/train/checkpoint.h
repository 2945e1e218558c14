// Checkpoints (DESIGN §5): runs/<name>/checkpoints/step_XXXXXXXX/ with model.safetensors
// (exported names), optimizer.safetensors, trainer_state.json and DONE, written under a
// temporary name and renamed, so a kill at any moment leaves the previous one intact;
// `latest` points at the newest complete one.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/models/model.h"
#include "ptm/optim/optimizer.h"

namespace ptm::train {

std::string checkpoint_name(int64_t step);  // "step_00000500"

// Writes a checkpoint and returns its folder. IoError (previous checkpoints untouched) on failure.
// `name` other than "" writes checkpoints/<name> instead (e.g. "best"): outside the step_*
// rotation, never pruned, never picked by `latest` or --resume auto.
std::string save_checkpoint(const std::string& run_dir, int64_t step, const models::ModelImpl& model,
                            const optim::Optimizer& optimizer, const nlohmann::json& trainer_state,
                            const models::NamedTensors& objective_params = {}, const std::string& name = "");

// The newest complete checkpoint (one with DONE) of a run directory, if any.
std::optional<std::string> latest_checkpoint(const std::string& run_dir);

// Loads model and optimizer state (and the objective's own tensors, copied in place);
// returns trainer_state.json. IoError naming what is wrong.
nlohmann::json load_checkpoint(const std::string& dir, models::ModelImpl& model, optim::Optimizer* optimizer,
                               const models::NamedTensors& objective_params = {});

// Deletes all but the newest `keep_last` complete checkpoints (0 keeps all).
void prune_checkpoints(const std::string& run_dir, int64_t keep_last);

// The CPU (and CUDA, when present) random generator states, as JSON, and back.
nlohmann::json rng_state();
void set_rng_state(const nlohmann::json& state);

}  // namespace ptm::train
