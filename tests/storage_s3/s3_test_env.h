// What the S3 tests run against: the Ceph RGW the ctest fixture starts (tests/CMakeLists.txt),
// named by the environment. Nothing here skips: a missing variable or server is a failure.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "storage/object_store_contract.h"
#include "storage/s3/s3_object_store.h"

namespace coffer::storage::testing {

struct S3TestEnv {
  std::string endpoint;  // http://127.0.0.1:<port>
  std::string bucket;
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
};

// From COFFER_TEST_S3_ENDPOINT, COFFER_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION. Throws std::runtime_error naming what is missing.
const S3TestEnv& s3_test_env();

// A config for the test RGW with short timeouts, so that fault tests end quickly.
S3Config s3_test_config();

// "coffer-test/<random>/": a key prefix no other test uses.
std::string fresh_key_prefix();

// A store under a fresh prefix; the destructor removes every object and upload under it.
class S3Backend final : public ContractBackend {
 public:
  explicit S3Backend(S3Config config = s3_test_config());
  ~S3Backend() override;
  ObjectStore& store() override { return *store_; }
  // curl PUTs the body to the URL with the URL's headers (Content-Length from the body).
  Result<std::string> put_part(const PresignedUrl& url, std::string_view body) override;
  S3ObjectStore& s3_store() { return *store_; }

 private:
  std::unique_ptr<S3ObjectStore> store_;
  std::string ca_file_;  // for curl, as for the client
};

// A store whose client addresses the bucket virtual-hosted (test-bucket.localhost:<port>).
S3Config virtual_hosted_config();

// Runs a shell command; returns its exit status and stdout.
struct CommandResult {
  int status = -1;
  std::string out;
};
CommandResult run_command(const std::string& command);

// Single-quotes a string for /bin/sh.
std::string shell_quote(std::string_view s);

}  // namespace coffer::storage::testing
