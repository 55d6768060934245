// Wiring: turns the configuration into the running pieces. main() owns everything built here
// and passes dependencies down by reference.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/token_authority.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/config.h"
#include "meta/metadata_store.h"
#include "service/collector.h"
#include "storage/fs/blob_signer.h"
#include "storage/fs/fs_object_store.h"
#include "storage/object_store.h"

namespace coffer::cli {

// Reads --config and the environment, and sets up logging. On a bad configuration prints one
// line to stderr and returns nullopt.
std::optional<Config> load_configuration(const GlobalOptions& global);

// The database the configuration names (default: SQLite in the data dir), migrated.
Result<std::unique_ptr<meta::MetadataStore>> open_database(const Config& config);

struct Storage {
  std::unique_ptr<storage::ObjectStore> store;
  // The signer of /blob URLs when the store is the local directory (Coffer serves its bytes).
  std::optional<storage::BlobSigner> blob_signer;
  // The local-directory store itself (it takes direct uploads' parts at /blob); null for S3.
  storage::FsObjectStore* fs_store = nullptr;
};

// The object store the configuration names (default: a directory in the data dir).
Result<Storage> open_object_store(const Config& config);

// The collector's sweeper of incomplete uploads for `store` as open_object_store opened it: an
// S3 store's abort_stale_uploads; empty for the local directory (it sweeps its own temporaries).
service::IncompleteUploadSweeper incomplete_upload_sweeper(storage::ObjectStore& store);

// Coffer's own token authority, with its signing key (generated into the data dir if needed),
// and, when `trust_external_issuers`, the configured external issuers (this may fetch JWKS).
Result<std::unique_ptr<auth::TokenAuthority>> make_token_authority(const Config& config,
                                                                  const Clock& clock,
                                                                  bool trust_external_issuers);

// The base URL clients reach this node at: http.public_url, or http://<listen>.
std::string public_base_url(const Config& config, std::uint16_t bound_port);

}  // namespace coffer::cli
