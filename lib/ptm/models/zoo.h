// The architectures of the zoo: each .cpp defines its factory; register_zoo lists them all.
#pragma once
#include "ptm/models/model.h"

namespace ptm::models {

// Adds every architecture to the registry (zoo.cpp).
void register_zoo(Registry<ModelFactory>& r);

}  // namespace ptm::models
