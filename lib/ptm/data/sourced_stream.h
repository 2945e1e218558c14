// Streams whose batches each come from one of several named sources (a task mixture's
// evaluation splits): evaluate() finds this interface beside BatchStream on the stream it
// reads and reports each source's metrics as well as those of all of them. An interface of
// its own, not a part of BatchStream or Batch, since only mixtures have sources.
#pragma once
#include <string>
#include <vector>

namespace ptm::data {

class SourcedStream {
 public:
  virtual ~SourcedStream() = default;
  virtual std::vector<std::string> source_names() const = 0;
  // The source of every row of the batch that next() returned last; -1 before the first, or
  // when its rows come from several sources (training batches).
  virtual int batch_source() const = 0;
};

}  // namespace ptm::data
