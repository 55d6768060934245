// The MetadataStore contract suite: what every backend must do, written once. A backend's test
// file instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, MetadataStoreContract,
//                            ::testing::Values(contract::Backend{"sqlite", make_store}),
//                            contract::backend_name);
//
// The suite uses only the MetadataStore interface, so it says nothing about how a backend works.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "meta/metadata_store.h"

namespace coffer::meta::contract {

// A fresh, migrated, empty store on each call. Returning nullptr fails the test (the backend's
// server is not running: make test starts every server its tests need).
using StoreFactory = std::function<std::unique_ptr<MetadataStore>()>;

struct Backend {
  std::string name;  // the test-name suffix: letters, digits and '_' only
  StoreFactory make_store;
};

inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

// A tenant created by the fixture, with its first admin.
struct TenantIds {
  std::string id;
  std::string admin_id;
};

class MetadataStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;

  // A tenant with slug `slug` and an enabled admin named "admin".
  TenantIds make_tenant(const std::string& slug, std::optional<std::int64_t> quota_bytes = {},
                        std::optional<std::int64_t> quota_files = {});
  UserRecord make_user(const std::string& tenant_id, const std::string& username, TenantRole role,
                       bool disabled = false);
  // A commit of fresh content (new file id, new object key) at `path`, at time kT0.
  CommitRequest commit_request(const std::string& tenant_id, const std::string& user_id,
                               const std::string& path, std::int64_t size,
                               CommitMode mode = CommitMode::kCreate);
  // Commits a new file; fails the test if that fails.
  FileRecord put_file(const std::string& tenant_id, const std::string& user_id,
                      const std::string& path, std::int64_t size = 10);
  GrantRecord grant(const std::string& tenant_id, const std::string& file_id, Principal principal,
                    const std::string& user_id, FileRole role, const std::string& granted_by);
  UploadIntent intent(const std::string& tenant_id, SystemTime expires_at);

  std::unique_ptr<MetadataStore> store_;
};

}  // namespace coffer::meta::contract
