// Precompiled header for every torch-using target (cmake option PTM_USE_PCH). Parsing
// <torch/torch.h> costs about a minute on two cores; precompiled, it costs a few seconds.
#pragma once
#include <torch/torch.h>
