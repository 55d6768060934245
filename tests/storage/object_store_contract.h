// The contract every ObjectStore backend must meet, as a value-parameterised GoogleTest suite.
// A backend's test file instantiates it with a factory for fresh, empty stores:
//
//   INSTANTIATE_TEST_SUITE_P(Fs, ObjectStoreContract,
//                            ::testing::Values(ContractBackendFactory{"fs", make_fs_backend}),
//                            ContractBackendName);
//
// The tests use nothing but the ObjectStore interface, so they hold for S3 as for a directory.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "storage/object_store.h"

namespace coffer::storage::testing {

// One store for one test. The destructor removes whatever the test left (a temporary directory,
// the objects under a bucket prefix).
class ContractBackend {
 public:
  virtual ~ContractBackend() = default;
  virtual ObjectStore& store() = 0;
  // Sends `body` to a presigned part URL as a client would, with the URL's headers; returns the
  // ETag the store answered, or an error for the status it answered (400 kBadRequest, 403
  // kForbidden, 404 kNotFound, 409 kConflict, anything else kInternal).
  virtual Result<std::string> put_part(const PresignedUrl& url, std::string_view body) = 0;
};

struct ContractBackendFactory {
  std::string name;  // a test-name suffix: [A-Za-z0-9_]
  // A fresh, empty store; nullptr fails the test (the backend's server is not running).
  std::function<std::unique_ptr<ContractBackend>()> make;
};

// Prints a factory as its name, so that test listings (and the ctest names gtest_discover_tests
// makes from them) say "GetParam() = fs" instead of dumping the factory's bytes.
inline void PrintTo(const ContractBackendFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string ContractBackendName(
    const ::testing::TestParamInfo<ContractBackendFactory>& info) {
  return info.param.name;
}

class ObjectStoreContract : public ::testing::TestWithParam<ContractBackendFactory> {
 protected:
  void SetUp() override;
  void TearDown() override { backend_.reset(); }
  ObjectStore& store() { return backend_->store(); }
  ContractBackend& backend() { return *backend_; }

 private:
  std::unique_ptr<ContractBackend> backend_;
};

}  // namespace coffer::storage::testing
