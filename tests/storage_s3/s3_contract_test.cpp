// The backend-neutral ObjectStore contract, run against Ceph RGW: path-style (as Coffer is
// configured for RGW) and virtual-hosted (as on AWS), each test under a fresh key prefix.
#include "s3_test_env.h"

namespace coffer::storage::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(
    S3, ObjectStoreContract,
    ::testing::Values(ContractBackendFactory{"rgw_path_style",
                                             [] { return std::make_unique<S3Backend>(); }},
                      ContractBackendFactory{
                          "rgw_virtual_hosted",
                          [] { return std::make_unique<S3Backend>(virtual_hosted_config()); }}),
    ContractBackendName);

}  // namespace
}  // namespace coffer::storage::testing
