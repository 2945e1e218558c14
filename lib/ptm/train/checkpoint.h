// Checkpoints (DESIGN §5): runs/<name>/checkpoints/step_XXXXXXXX/ with model.safetensors
// (exported names), optimizer.safetensors, trainer_state.json and DONE, written under a
// temporary name and renamed, so a kill at any moment leaves the previous one intact;
// `latest` points at the newest complete one.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/models/model.h"
#include "ptm/optim/optimizer.h"

namespace ptm::train {

std::string checkpoint_name(int64_t step);  // "step_00000500"

// Tensor files saved beside model.safetensors and optimizer.safetensors, inside the same
// atomic folder: {"objective.safetensors", objective tensors}, {"ema.safetensors", EMA weights}.
using ExtraFiles = std::vector<std::pair<std::string, models::NamedTensors>>;

// Writes a checkpoint and returns its folder. Files are streamed and fsynced into a temporary
// folder, DONE (the size and SHA-256 of every file) is written last, and the folder is renamed
// into place; leftovers of a killed save are removed first. IoError (disk full, ...) leaves
// the previous checkpoints untouched.
// `name` other than "" writes checkpoints/<name> instead (e.g. "best"): outside the step_*
// rotation, never pruned, never picked by `latest` or --resume auto.
std::string save_checkpoint(const std::string& run_dir, int64_t step, const models::ModelImpl& model,
                            const optim::Optimizer& optimizer, const nlohmann::json& trainer_state,
                            const ExtraFiles& extra = {}, const std::string& name = "");
// The same with the optimizer state given as tensors (ZeRO-1: gathered from every rank).
std::string save_checkpoint(const std::string& run_dir, int64_t step, const models::ModelImpl& model,
                            const models::NamedTensors& optimizer_state, const nlohmann::json& trainer_state,
                            const ExtraFiles& extra = {}, const std::string& name = "");

// "" when the files of a checkpoint match the sizes and checksums its DONE records (a DONE
// from before checksums passes), else what is wrong with which file.
std::string verify_checkpoint(const std::string& dir);

// The newest complete checkpoint (step_N with DONE) of a run directory, if any. With `verify`,
// the newest intact one: damaged checkpoints (truncated or altered after completion) are
// named in a warning and passed over.
std::optional<std::string> latest_checkpoint(const std::string& run_dir, bool verify = false);

// Loads model and optimizer state (and the objective's own tensors, copied in place);
// returns trainer_state.json. IoError naming what is wrong.
nlohmann::json load_checkpoint(const std::string& dir, models::ModelImpl& model, optim::Optimizer* optimizer,
                               const models::NamedTensors& objective_params = {});

// Deletes all but the newest `keep_last` complete checkpoints (0 keeps all).
void prune_checkpoints(const std::string& run_dir, int64_t keep_last);

// The CPU (and CUDA, when present) random generator states, as JSON, and back. Restoring sets
// the CUDA devices that exist: a run requeued onto a node with fewer GPUs resumes.
nlohmann::json rng_state();
void set_rng_state(const nlohmann::json& state);

}  // namespace ptm::train
