// Under torchrun each worker has TORCHELASTIC_ERROR_FILE: the error written there is what
// torchrun prints as the root cause of a failed job. Torch-free.
#pragma once
#include <string>

namespace ptm::dist {

// Writes `message` (shown as "ptm: <message>") where TORCHELASTIC_ERROR_FILE says; nothing
// when it is not set.
void write_torchelastic_error(const std::string& message);

}  // namespace ptm::dist
