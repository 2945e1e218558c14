// A sub-network of an elastic model as a model of its own: its first heads and neurons and
// kept layers copied out of the shared weights by compress::shrink, so the result equals the
// slice (elastic.h) and is saved, loaded and exported like any model.
#pragma once
#include "ptm/compress/axes.h"
#include "ptm/models/elastic.h"

namespace ptm::nas {

compress::Shrunk extract_subnet(models::ModelImpl& model, const models::Subnet& subnet);

}  // namespace ptm::nas
