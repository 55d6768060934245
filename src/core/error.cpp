#include "core/error.h"

#include <stdexcept>

namespace coffer {

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(e.detail.empty() ? e.message : e.message + ": " + e.detail);
}

}  // namespace coffer
