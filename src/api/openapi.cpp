#include "api/openapi.h"

namespace coffer::api {

// The OpenAPI 3.0.3 document of API.md. tests/http/openapi_test.cpp keeps it true: every route of
// http::make_api_router is here with its method and nothing else is, every $ref resolves, and
// every error response is a $ref to components/responses. Edit it together with the router.
std::string_view openapi_document() {
  static constexpr std::string_view kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "Coffer",
    "version": "1",
    "description": "Coffer is a multi-tenant file storage service: a small REST API over one object store. This document describes API.md, the HTTP contract.\n\n- **Base path** `/api/v1`. A trailing slash on a collection path is optional: `/api/v1/files` and `/api/v1/files/` are the same route (as are `/api/v1/uploads/`, `/api/v1/permissions/`, `/api/v1/users/` and `/api/v1/tenants/`).\n- `GET /api/v1/files/{id}/Download` is an alias of `GET /api/v1/files/{id}/download`; both are listed.\n- **Ids** (tenant, user, file, upload) are opaque strings with at least 96 bits of randomness; never parse them. **Times** are RFC 3339 UTC strings, e.g. `2026-11-28T04:29:35Z`.\n- Every response carries `X-Request-Id`: the request's own when it is 1-128 characters of `[A-Za-z0-9._-]`, else a new one.\n- **JSON is strict**: a field of the wrong type, an unknown field, or an empty or non-object body is 400 `bad_request`; nothing is coerced. JSON bodies over `COFFER_MAX_JSON_BYTES` (default 1 MiB) are 413 before they are parsed; a JSON route sent another content type is 415.\n- **Errors** all have the body `{\"error\": {\"code\", \"message\", \"request_id\"}}` (schema `Error`). A known path with the wrong method is 405 `method_not_allowed` with an `Allow` header (response `MethodNotAllowed`; it is not repeated on every path). A request whose headers take too long is answered 408 with code `bad_request`, one whose headers are too large 431 with code `payload_too_large`; an unexpected failure is 500 `internal`, whose message says nothing internal.\n- **Authentication**: `Authorization: Bearer <JWT>` on every route except `/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`, `POST /api/v1/auth/token` and the presigned `/blob/` URLs (their operations say `security: []`). An operator token may only call the `/api/v1/tenants` routes; anywhere else it gets 403, and a user token on a tenant route gets 403 too (except a tenant admin reading its own tenant).\n- **Not found versus forbidden**: a resource that is absent, in another tenant, or not readable by the caller is 404 (existence never leaks); 403 means the caller can see it but lacks the role for the action.\n- **Paths** of files are UTF-8, 1-1024 bytes, `/`-separated, with no leading or trailing `/`, no empty, `.` or `..` segment, no control character and no backslash; anything else is 400 `invalid_path`. Paths are unique per tenant."
  },
  "servers": [{"url": "/"}],
  "tags": [
    {"name": "auth", "description": "Tokens and the caller"},
    {"name": "files", "description": "Files: upload, list, read, rename, delete, download"},
    {"name": "uploads", "description": "Direct (presigned) uploads"},
    {"name": "permissions", "description": "Per-file access control lists"},
    {"name": "users", "description": "Users of the caller's tenant"},
    {"name": "tenants", "description": "Tenants (operator)"},
    {"name": "service", "description": "Health, readiness, metrics and this document"},
    {"name": "blob", "description": "Presigned URLs of the local-filesystem backend"}
  ],
  "security": [{"bearerAuth": []}],
  "paths": {
    "/api/v1/auth/token": {
      "post": {
        "tags": ["auth"],
        "operationId": "createToken",
        "summary": "Exchange a tenant, username and password for an access token",
        "description": "A wrong tenant, user or password (or a disabled user) are one and the same 401.",
        "security": [],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenRequest"}}}
        },
        "responses": {
          "200": {"description": "The token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/me": {
      "get": {
        "tags": ["auth"],
        "operationId": "getMe",
        "summary": "The caller and its tenant",
        "responses": {
          "200": {"description": "The caller", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Me"}}}},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/files": {
      "get": {
        "tags": ["files"],
        "operationId": "listFiles",
        "summary": "List the files the caller can read, ordered by path",
        "description": "With `delimiter=/`, files below the next `/` after the prefix are rolled up into `folders`: the common prefixes (ending in `/`) that contain at least one readable file.",
        "parameters": [
          {"name": "prefix", "in": "query", "required": false, "description": "Only paths that start with this string.", "schema": {"type": "string", "maxLength": 1024}},
          {"name": "delimiter", "in": "query", "required": false, "description": "Only `/` is supported.", "schema": {"type": "string", "enum": ["/"]}},
          {"$ref": "#/components/parameters/Limit"},
          {"$ref": "#/components/parameters/Cursor"}
        ],
        "responses": {
          "200": {"description": "A page of files", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FileList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "post": {
        "tags": ["files"],
        "operationId": "uploadFile",
        "summary": "Upload a file (or, with overwrite=true, replace a file's content)",
        "description": "Either `multipart/form-data` with a `file` part and an optional `path` part (before or after it; absent or empty: the `file` part's filename), or any other content type as the raw body with the `path` query parameter. The body streams to storage; `Content-Length` and chunked transfer encoding are both accepted. Needs tenant role `editor` or `admin`; an overwrite needs `editor` on the file and keeps its id, with `version` + 1. Without `overwrite=true` an existing path is 409, even one the caller cannot read. Concurrent overwrites all succeed and each gets its own version; the last commit wins.",
        "parameters": [
          {"name": "path", "in": "query", "required": false, "description": "The file's path; required for a raw body, ignored for multipart/form-data.", "schema": {"$ref": "#/components/schemas/Path"}},
          {"name": "overwrite", "in": "query", "required": false, "description": "`true` replaces the content of an existing file at that path.", "schema": {"type": "boolean", "default": false}},
          {"$ref": "#/components/parameters/ChecksumSha256"},
          {"$ref": "#/components/parameters/IfMatch"}
        ],
        "requestBody": {
          "required": true,
          "content": {
            "multipart/form-data": {
              "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                  "file": {"type": "string", "format": "binary", "description": "The content; its filename is the path when no `path` part is given."},
                  "path": {"$ref": "#/components/schemas/Path"}
                }
              }
            },
            "*/*": {"schema": {"type": "string", "format": "binary"}}
          }
        },
        "responses": {
          "201": {
            "description": "The file was stored",
            "headers": {"Location": {"description": "`/api/v1/files/{id}` of the file.", "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/File"}}}
          },
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "412": {"$ref": "#/components/responses/PreconditionFailed"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"},
          "507": {"$ref": "#/components/responses/QuotaExceeded"}
        }
      }
    },
    "/api/v1/files/{id}": {
      "parameters": [{"$ref": "#/components/parameters/FileId"}],
      "get": {
        "tags": ["files"],
        "operationId": "getFile",
        "summary": "A file's metadata (viewer)",
        "responses": {
          "200": {"description": "The file", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/File"}}}},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "patch": {
        "tags": ["files"],
        "operationId": "renameFile",
        "summary": "Rename or move a file (editor)",
        "description": "Changes metadata only; the bytes are not copied. The new path must be free (409).",
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RenameFileRequest"}}}
        },
        "responses": {
          "200": {"description": "The renamed file", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/File"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "412": {"$ref": "#/components/responses/PreconditionFailed"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "delete": {
        "tags": ["files"],
        "operationId": "deleteFile",
        "summary": "Delete a file (admin on the file)",
        "description": "Of concurrent deletes of one file exactly one gets 204, the others 404.",
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
        "responses": {
          "204": {"description": "Deleted"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "412": {"$ref": "#/components/responses/PreconditionFailed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/files/{id}/download": {
      "parameters": [{"$ref": "#/components/parameters/FileId"}],
      "get": {
        "tags": ["files"],
        "operationId": "downloadFile",
        "summary": "Download a file's content (viewer)",
        "description": "Supports a single `Range` (206, or 416 when unsatisfiable), `If-None-Match` (304) and `If-Range`. With `redirect=true` the answer is a 307 to a presigned URL instead of the bytes.",
        "parameters": [
          {"$ref": "#/components/parameters/Range"},
          {"$ref": "#/components/parameters/IfNoneMatch"},
          {"$ref": "#/components/parameters/IfRange"},
          {"$ref": "#/components/parameters/Redirect"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/FileContent"},
          "206": {"$ref": "#/components/responses/PartialFileContent"},
          "304": {"$ref": "#/components/responses/NotModified"},
          "307": {"$ref": "#/components/responses/RedirectToPresignedUrl"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "416": {"$ref": "#/components/responses/RangeNotSatisfiable"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/files/{id}/Download": {
      "parameters": [{"$ref": "#/components/parameters/FileId"}],
      "get": {
        "tags": ["files"],
        "operationId": "downloadFileAlias",
        "summary": "Alias of GET /api/v1/files/{id}/download",
        "description": "Behaves exactly as `GET /api/v1/files/{id}/download`.",
        "parameters": [
          {"$ref": "#/components/parameters/Range"},
          {"$ref": "#/components/parameters/IfNoneMatch"},
          {"$ref": "#/components/parameters/IfRange"},
          {"$ref": "#/components/parameters/Redirect"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/FileContent"},
          "206": {"$ref": "#/components/responses/PartialFileContent"},
          "304": {"$ref": "#/components/responses/NotModified"},
          "307": {"$ref": "#/components/responses/RedirectToPresignedUrl"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "416": {"$ref": "#/components/responses/RangeNotSatisfiable"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/files/{id}/download-url": {
      "parameters": [{"$ref": "#/components/parameters/FileId"}],
      "post": {
        "tags": ["files"],
        "operationId": "createDownloadUrl",
        "summary": "A presigned URL that downloads the file without a token (viewer)",
        "description": "The URL is bound to the file's current content and to GET, and expires after `expires_in` seconds (default 15 minutes, configurable).",
        "requestBody": {
          "required": false,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DownloadUrlRequest"}}}
        },
        "responses": {
          "200": {"description": "The URL", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DownloadUrl"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/uploads": {
      "post": {
        "tags": ["uploads"],
        "operationId": "createUpload",
        "summary": "Start a direct upload: presigned URL(s) for the bytes",
        "description": "Same rules as `POST /api/v1/files` for who may create or overwrite a path. The URLs are bound to one object, to PUT, and to the declared size and checksum. A size over the configured part size (`COFFER_UPLOAD_PART_SIZE`) gets `parts` (S3 multipart) instead of `url`: every part but the last has that size, and each PUT sends its part's bytes with `Content-Length` its `size`. Either way the client sends every header of `headers` with each PUT (they are signed; with a declared `sha256` and a single `url`, the store refuses other bytes). On S3 even a single `url` is a presigned UploadPart of a multipart upload of a fresh key, and on the local directory a Coffer `/blob/` part URL: nothing is written at any file's key until complete, and once an upload is completed or aborted its URLs answer 403 or 404 and can no longer change any file. Nothing is visible until `POST /api/v1/uploads/{upload_id}/complete`, which the uploader may call until `COFFER_UPLOAD_TTL` after `expires_at`; an upload never completed is then aborted by the collector and its parts removed.",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateUploadRequest"}}}
        },
        "responses": {
          "201": {"description": "The upload", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Upload"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"},
          "507": {"$ref": "#/components/responses/QuotaExceeded"}
        }
      }
    },
    "/api/v1/uploads/{upload_id}/complete": {
      "parameters": [{"$ref": "#/components/parameters/UploadId"}],
      "post": {
        "tags": ["uploads"],
        "operationId": "completeUpload",
        "summary": "Complete a direct upload: the file becomes visible",
        "description": "Only the user who started the upload may complete it (anyone else: 404; an expired, completed or aborted upload: 404 too). The checks of `POST /api/v1/uploads` run again first (403, 409, 507): the upload then stays open, to be completed once the cause is gone, or aborted. `parts` lists the parts uploaded, in ascending order, each with the ETag its PUT answered; it may be left out (or the body empty) when the upload has one part. A part not uploaded or another ETag is 400 and the upload stays open. Then Coffer checks the stored object (its size, and its SHA-256 when declared) before the file becomes visible: on a mismatch the answer is 400, the object is removed and the upload is over.",
        "requestBody": {
          "required": false,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompleteUploadRequest"}}}
        },
        "responses": {
          "201": {"description": "The file", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/File"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"},
          "507": {"$ref": "#/components/responses/QuotaExceeded"}
        }
      }
    },
    "/api/v1/uploads/{upload_id}": {
      "parameters": [{"$ref": "#/components/parameters/UploadId"}],
      "delete": {
        "tags": ["uploads"],
        "operationId": "abortUpload",
        "summary": "Abort a direct upload",
        "description": "Only the user who started it; its URLs then answer 403 or 404 and nothing it uploaded is kept.",
        "responses": {
          "204": {"description": "Aborted"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/permissions": {
      "get": {
        "tags": ["permissions"],
        "operationId": "listGrants",
        "summary": "A file's ACL (viewer on the file), or the grants a user holds (tenant admin, or the user themself)",
        "description": "Exactly one of `file_id` and `user_id`.",
        "parameters": [
          {"name": "file_id", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/Id"}},
          {"name": "user_id", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/Id"}}
        ],
        "responses": {
          "200": {
            "description": "The grants",
            "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/FileAcl"}, {"$ref": "#/components/schemas/UserGrants"}]}}}
          },
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "post": {
        "tags": ["permissions"],
        "operationId": "setGrant",
        "summary": "Create or change a grant (admin on the file); role none revokes",
        "description": "Names the grantee by `user_id` (a user of the same tenant) or by `\"principal\": \"tenant\"` (every user of the tenant), not both. Nobody may grant a role above their own effective role on the file. Concurrent grants and revokes never fail with 500; the last one wins.",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GrantRequest"}}}
        },
        "responses": {
          "200": {"description": "The grant as it now is", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Grant"}}}},
          "204": {"description": "Revoked (`\"role\": \"none\"`)"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "delete": {
        "tags": ["permissions"],
        "operationId": "revokeGrant",
        "summary": "Revoke a grant (admin on the file)",
        "description": "`file_id` and either `user_id` or `principal=tenant`. 204 also when there was no such grant.",
        "parameters": [
          {"name": "file_id", "in": "query", "required": true, "schema": {"$ref": "#/components/schemas/Id"}},
          {"name": "user_id", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/Id"}},
          {"name": "principal", "in": "query", "required": false, "schema": {"type": "string", "enum": ["tenant"]}}
        ],
        "responses": {
          "204": {"description": "No such grant any more"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/users": {
      "get": {
        "tags": ["users"],
        "operationId": "listUsers",
        "summary": "List the users of the caller's tenant (any user), ordered by username",
        "parameters": [
          {"$ref": "#/components/parameters/Limit"},
          {"$ref": "#/components/parameters/Cursor"}
        ],
        "responses": {
          "200": {"description": "A page of users", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "post": {
        "tags": ["users"],
        "operationId": "createUser",
        "summary": "Create a user in the caller's tenant (tenant admin)",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateUserRequest"}}}
        },
        "responses": {
          "201": {"description": "The user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/users/{id}": {
      "parameters": [{"$ref": "#/components/parameters/UserId"}],
      "get": {
        "tags": ["users"],
        "operationId": "getUser",
        "summary": "A user of the caller's tenant",
        "responses": {
          "200": {"description": "The user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "patch": {
        "tags": ["users"],
        "operationId": "updateUser",
        "summary": "Change a user's role, disabled flag or password (tenant admin)",
        "description": "A tenant always keeps at least one enabled admin: a change that would leave none is 409. Role changes and disabling take effect at once, also for tokens already issued.",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateUserRequest"}}}
        },
        "responses": {
          "200": {"description": "The user", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "delete": {
        "tags": ["users"],
        "operationId": "deleteUser",
        "summary": "Delete a user (tenant admin)",
        "description": "The user's files stay and pass to the deleting admin; the grants the user holds are removed, the grants they made stay. An admin cannot delete themself, and the last enabled admin cannot be deleted (409).",
        "responses": {
          "204": {"description": "Deleted"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/tenants": {
      "get": {
        "tags": ["tenants"],
        "operationId": "listTenants",
        "summary": "List tenants (operator), ordered by slug",
        "parameters": [
          {"$ref": "#/components/parameters/Limit"},
          {"$ref": "#/components/parameters/Cursor"}
        ],
        "responses": {
          "200": {"description": "A page of tenants", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TenantList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "post": {
        "tags": ["tenants"],
        "operationId": "createTenant",
        "summary": "Create a tenant and its first admin (operator)",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateTenantRequest"}}}
        },
        "responses": {
          "201": {"description": "The tenant and its admin", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreatedTenant"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/api/v1/tenants/{id}": {
      "parameters": [{"$ref": "#/components/parameters/TenantId"}],
      "get": {
        "tags": ["tenants"],
        "operationId": "getTenant",
        "summary": "A tenant (operator, or an admin of that tenant)",
        "description": "A tenant admin may read its own tenant; any other tenant id is 404 for it.",
        "responses": {
          "200": {"description": "The tenant", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tenant"}}}},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "patch": {
        "tags": ["tenants"],
        "operationId": "updateTenant",
        "summary": "Change a tenant's name or quotas (operator)",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateTenantRequest"}}}
        },
        "responses": {
          "200": {"description": "The tenant", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tenant"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "delete": {
        "tags": ["tenants"],
        "operationId": "deleteTenant",
        "summary": "Delete a tenant with its users, files and objects (operator)",
        "responses": {
          "204": {"description": "Deleted"},
          "401": {"$ref": "#/components/responses/Unauthenticated"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    },
    "/healthz": {
      "get": {
        "tags": ["service"],
        "operationId": "healthz",
        "summary": "Liveness: 200 when the process serves",
        "security": [],
        "responses": {
          "200": {
            "description": "Serving",
            "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}
          }
        }
      }
    },
    "/readyz": {
      "get": {
        "tags": ["service"],
        "operationId": "readyz",
        "summary": "Readiness: 200 when the database and the object store answer",
        "security": [],
        "responses": {
          "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
          "503": {"$ref": "#/components/responses/NotReady"}
        }
      }
    },
    "/metrics": {
      "get": {
        "tags": ["service"],
        "operationId": "metrics",
        "summary": "Prometheus metrics (may be served on a separate listener instead)",
        "description": "Requests by route and status, latency histograms, bytes in and out, storage call latency and errors, in the Prometheus text exposition format.",
        "security": [],
        "responses": {
          "200": {"description": "The metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}
        }
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "tags": ["service"],
        "operationId": "openapi",
        "summary": "This document",
        "security": [],
        "responses": {
          "200": {"description": "The OpenAPI 3 document of this API", "content": {"application/json": {"schema": {"type": "object"}}}}
        }
      }
    },
    "/blob/{key}": {
      "parameters": [
        {"name": "key", "in": "path", "required": true, "description": "The object key, percent-encoded; it spans the rest of the path and may contain `/`.", "schema": {"type": "string"}},
        {"name": "expires", "in": "query", "required": true, "description": "Expiry, in Unix seconds.", "schema": {"type": "integer", "format": "int64"}},
        {"name": "signature", "in": "query", "required": true, "description": "HMAC-SHA256 of the URL's bindings with Coffer's key, 64 lower-case hex digits.", "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
      ],
      "get": {
        "tags": ["blob"],
        "operationId": "getBlob",
        "summary": "Presigned download (local-filesystem backend)",
        "description": "A URL made by `POST /api/v1/files/{id}/download-url` or `GET /api/v1/files/{id}/download?redirect=true` with the local-filesystem backend. It is authenticated by its query signature, not by a token; it behaves as an S3 presigned GET. A missing, unknown, malformed or tampered parameter, another method, or an expired URL is 403.",
        "security": [],
        "parameters": [
          {"name": "method", "in": "query", "required": true, "schema": {"type": "string", "enum": ["GET"]}},
          {"name": "disposition", "in": "query", "required": false, "description": "The Content-Disposition the answer carries.", "schema": {"type": "string"}},
          {"$ref": "#/components/parameters/Range"}
        ],
        "responses": {
          "200": {
            "description": "The object's bytes",
            "headers": {
              "Content-Length": {"$ref": "#/components/headers/Content-Length"},
              "Content-Disposition": {"$ref": "#/components/headers/Content-Disposition"}
            },
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
          },
          "206": {
            "description": "The requested range of the object",
            "headers": {
              "Content-Length": {"$ref": "#/components/headers/Content-Length"},
              "Content-Range": {"$ref": "#/components/headers/Content-Range"}
            },
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
          },
          "400": {"$ref": "#/components/responses/BadRequest"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "416": {"$ref": "#/components/responses/RangeNotSatisfiable"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      },
      "put": {
        "tags": ["blob"],
        "operationId": "putBlob",
        "summary": "Presigned upload of one part (local-filesystem backend)",
        "description": "A part URL made by `POST /api/v1/uploads` with the local-filesystem backend (the `url`, or one of `parts`), authenticated by its query signature, not by a token; it behaves as S3's presigned UploadPart. The request must send the headers the upload listed: a `Content-Length` other than the signed length, or a missing or other `X-Checksum-Sha256` when one is signed, is 403, as is a bad or expired signature; a body of another size or checksum is 400, and the part is then missing until sent again. The answer's `ETag` is what `POST /api/v1/uploads/{upload_id}/complete` wants for the part. Once the upload is completed or aborted its URLs answer 404 and change nothing; while the same part is being written, another PUT of it is 409.",
        "security": [],
        "parameters": [
          {"name": "method", "in": "query", "required": true, "schema": {"type": "string", "enum": ["PUT"]}},
          {"name": "length", "in": "query", "required": true, "description": "The bound body size in bytes.", "schema": {"type": "integer", "format": "int64", "minimum": 0}},
          {"name": "sha256", "in": "query", "required": false, "description": "The bound SHA-256 of the body.", "schema": {"$ref": "#/components/schemas/Sha256"}},
          {"name": "upload_id", "in": "query", "required": true, "description": "The store's upload the part belongs to.", "schema": {"type": "string"}},
          {"name": "part", "in": "query", "required": true, "description": "The part number.", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
          {"$ref": "#/components/parameters/ChecksumSha256"}
        ],
        "requestBody": {
          "required": true,
          "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        },
        "responses": {
          "200": {
            "description": "Stored",
            "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}
          },
          "400": {"$ref": "#/components/responses/BadRequest"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "503": {"$ref": "#/components/responses/StorageUnavailable"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT with `sub` (user id), `tenant_id` and `exp`; `iss` and `aud` are checked when configured. Coffer's own tokens come from `POST /api/v1/auth/token` or `coffer token`; tokens of configured external identity providers are accepted too. Roles are read from the database, never from the token. An operator token carries `\"role\": \"operator\"` and no tenant."
      }
    },
    "parameters": {
      "FileId": {"name": "id", "in": "path", "required": true, "description": "A file id.", "schema": {"$ref": "#/components/schemas/Id"}},
      "UserId": {"name": "id", "in": "path", "required": true, "description": "A user id.", "schema": {"$ref": "#/components/schemas/Id"}},
      "TenantId": {"name": "id", "in": "path", "required": true, "description": "A tenant id.", "schema": {"$ref": "#/components/schemas/Id"}},
      "UploadId": {"name": "upload_id", "in": "path", "required": true, "description": "An upload id.", "schema": {"$ref": "#/components/schemas/Id"}},
      "Limit": {"name": "limit", "in": "query", "required": false, "description": "Page size.", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
      "Cursor": {"name": "cursor", "in": "query", "required": false, "description": "The `next_cursor` of the previous page; opaque.", "schema": {"type": "string"}},
      "IfMatch": {"name": "If-Match", "in": "header", "required": false, "description": "The file's `etag`; the request is 412 when it does not match.", "schema": {"type": "string"}},
      "ChecksumSha256": {"name": "X-Checksum-Sha256", "in": "header", "required": false, "description": "The SHA-256 of the body, in hex; a mismatch is 400 and nothing is stored.", "schema": {"$ref": "#/components/schemas/Sha256"}},
      "Range": {"name": "Range", "in": "header", "required": false, "description": "A single byte range, e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-512`.", "schema": {"type": "string"}},
      "IfNoneMatch": {"name": "If-None-Match", "in": "header", "required": false, "description": "ETags; 304 when one matches the file's.", "schema": {"type": "string"}},
      "IfRange": {"name": "If-Range", "in": "header", "required": false, "description": "An ETag or HTTP date; the Range applies only when it still matches, else the whole file is sent.", "schema": {"type": "string"}},
      "Redirect": {"name": "redirect", "in": "query", "required": false, "description": "`true`: answer 307 to a presigned URL instead of streaming the bytes.", "schema": {"type": "boolean", "default": false}}
    },
    "headers": {
      "X-Request-Id": {"description": "The request's id (see the info description).", "schema": {"type": "string"}},
      "Content-Type": {"description": "The file's content type.", "schema": {"type": "string"}},
      "Content-Length": {"description": "The length of the body in bytes.", "schema": {"type": "integer", "format": "int64"}},
      "ETag": {"description": "The entity tag of the content (quoted).", "schema": {"type": "string"}},
      "Last-Modified": {"description": "When the content was last written, as an HTTP date.", "schema": {"type": "string"}},
      "Content-Disposition": {"description": "`attachment; filename*=UTF-8''<the file name, percent-encoded>`.", "schema": {"type": "string"}},
      "Content-Range": {"description": "`bytes <first>-<last>/<size>`, or `bytes */<size>` on 416.", "schema": {"type": "string"}},
      "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
    },
    "responses": {
      "FileContent": {
        "description": "The file's bytes",
        "headers": {
          "Content-Type": {"$ref": "#/components/headers/Content-Type"},
          "Content-Length": {"$ref": "#/components/headers/Content-Length"},
          "ETag": {"$ref": "#/components/headers/ETag"},
          "Last-Modified": {"$ref": "#/components/headers/Last-Modified"},
          "Content-Disposition": {"$ref": "#/components/headers/Content-Disposition"}
        },
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}
      },
      "PartialFileContent": {
        "description": "The requested range of the file's bytes",
        "headers": {
          "Content-Type": {"$ref": "#/components/headers/Content-Type"},
          "Content-Length": {"$ref": "#/components/headers/Content-Length"},
          "Content-Range": {"$ref": "#/components/headers/Content-Range"},
          "ETag": {"$ref": "#/components/headers/ETag"},
          "Last-Modified": {"$ref": "#/components/headers/Last-Modified"},
          "Content-Disposition": {"$ref": "#/components/headers/Content-Disposition"}
        },
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}
      },
      "NotModified": {
        "description": "If-None-Match matched: no body",
        "headers": {
          "ETag": {"$ref": "#/components/headers/ETag"},
          "Last-Modified": {"$ref": "#/components/headers/Last-Modified"}
        }
      },
      "RedirectToPresignedUrl": {
        "description": "redirect=true: the presigned URL to download from",
        "headers": {"Location": {"description": "The presigned URL.", "schema": {"type": "string", "format": "uri"}}}
      },
      "BadRequest": {
        "description": "`bad_request` (malformed JSON, a missing, unknown or invalid field, a bad query value or header, a checksum or size mismatch) or `invalid_path`",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "bad_request", "message": "unknown field \"colour\"", "request_id": "9f2c1ab4e07d"}}}}
      },
      "Unauthenticated": {
        "description": "`unauthenticated`: no, invalid or expired token, or an unknown or disabled user",
        "headers": {
          "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}},
          "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "unauthenticated", "message": "invalid or missing credentials", "request_id": "9f2c1ab4e07d"}}}}
      },
      "Forbidden": {
        "description": "`forbidden`: the caller can see the resource but lacks the role for this action (or an operator token outside the tenant routes)",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "forbidden", "message": "not allowed", "request_id": "9f2c1ab4e07d"}}}}
      },
      "NotFound": {
        "description": "`not_found`: absent, in another tenant, or not readable by the caller",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "not_found", "message": "file not found", "request_id": "9f2c1ab4e07d"}}}}
      },
      "MethodNotAllowed": {
        "description": "`method_not_allowed`: a known path with a method it does not serve (any path of this document)",
        "headers": {
          "Allow": {"description": "The methods the path serves, e.g. `GET, POST`.", "schema": {"type": "string"}},
          "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "method_not_allowed", "message": "method not allowed for this route", "request_id": "9f2c1ab4e07d"}}}}
      },
      "Conflict": {
        "description": "`conflict`: the path already exists, the username or slug is taken, or the change would leave the tenant without an enabled admin",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "conflict", "message": "path already exists", "request_id": "9f2c1ab4e07d"}}}}
      },
      "PreconditionFailed": {
        "description": "`precondition_failed`: If-Match did not match",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "precondition_failed", "message": "If-Match did not match", "request_id": "9f2c1ab4e07d"}}}}
      },
      "PayloadTooLarge": {
        "description": "`payload_too_large`: the body is over the configured limit (COFFER_MAX_JSON_BYTES for JSON, COFFER_MAX_UPLOAD_BYTES for content)",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "payload_too_large", "message": "body too large", "request_id": "9f2c1ab4e07d"}}}}
      },
      "UnsupportedMediaType": {
        "description": "`unsupported_media_type`: the body is not `application/json`",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "unsupported_media_type", "message": "expected application/json", "request_id": "9f2c1ab4e07d"}}}}
      },
      "RangeNotSatisfiable": {
        "description": "`range_not_satisfiable`: the Range is malformed, has more than one range, or lies outside the content",
        "headers": {
          "Content-Range": {"$ref": "#/components/headers/Content-Range"},
          "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "range_not_satisfiable", "message": "range not satisfiable", "request_id": "9f2c1ab4e07d"}}}}
      },
      "RateLimited": {
        "description": "`rate_limited`: too many requests for the tenant",
        "headers": {
          "Retry-After": {"$ref": "#/components/headers/Retry-After"},
          "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "rate_limited", "message": "too many requests", "request_id": "9f2c1ab4e07d"}}}}
      },
      "StorageUnavailable": {
        "description": "`storage_unavailable`: the object store or the database cannot be reached",
        "headers": {
          "Retry-After": {"$ref": "#/components/headers/Retry-After"},
          "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "storage_unavailable", "message": "storage is unavailable, retry later", "request_id": "9f2c1ab4e07d"}}}}
      },
      "QuotaExceeded": {
        "description": "`quota_exceeded`: the write would exceed the tenant's byte or file quota",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"},
          "example": {"error": {"code": "quota_exceeded", "message": "tenant byte quota exceeded", "request_id": "9f2c1ab4e07d"}}}}
      },
      "NotReady": {
        "description": "The database or the object store does not answer; `failed` says which",
        "headers": {
          "Retry-After": {"$ref": "#/components/headers/Retry-After"},
          "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"},
          "example": {"status": "unavailable", "checks": {"database": "ok", "storage": "connection refused"}, "failed": "storage"}}}
      }
    },
    "schemas": {
      "Id": {"type": "string", "minLength": 1, "description": "An opaque id with at least 96 bits of randomness; never parse it.", "example": "f_3kq9x2m7c1v8b4n6"},
      "Time": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC.", "example": "2026-11-28T04:29:35Z"},
      "Path": {"type": "string", "minLength": 1, "maxLength": 1024, "description": "A file path: UTF-8, 1-1024 bytes, `/`-separated, no leading or trailing `/`, no empty, `.` or `..` segment, no control character, no backslash.", "example": "reports/2026/q1.pdf"},
      "Sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "A SHA-256 digest in hex."},
      "Slug": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", "description": "A DNS label.", "example": "acme"},
      "Username": {"type": "string", "pattern": "^[A-Za-z0-9._@+-]{1,64}$", "example": "alice@example.com"},
      "TenantRole": {"type": "string", "enum": ["admin", "editor", "viewer"]},
      "FileRole": {"type": "string", "enum": ["viewer", "editor", "admin"], "description": "viewer < editor < admin."},
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
              "code": {"type": "string", "enum": ["bad_request", "invalid_path", "unauthenticated", "forbidden", "not_found", "method_not_allowed", "conflict", "precondition_failed", "payload_too_large", "unsupported_media_type", "range_not_satisfiable", "rate_limited", "storage_unavailable", "quota_exceeded", "internal"]},
              "message": {"type": "string", "description": "For people; says nothing internal."},
              "request_id": {"type": "string", "description": "The response's X-Request-Id."}
            }
          }
        }
      },
      "TokenRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["tenant", "username", "password"],
        "properties": {
          "tenant": {"$ref": "#/components/schemas/Slug"},
          "username": {"$ref": "#/components/schemas/Username"},
          "password": {"type": "string", "format": "password"}
        }
      },
      "TokenResponse": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in"],
        "properties": {
          "access_token": {"type": "string", "description": "A JWT, for `Authorization: Bearer`."},
          "token_type": {"type": "string", "enum": ["Bearer"]},
          "expires_in": {"type": "integer", "description": "Seconds until the token expires.", "example": 3600}
        }
      },
      "Me": {
        "type": "object",
        "required": ["user", "tenant"],
        "properties": {
          "user": {"$ref": "#/components/schemas/User"},
          "tenant": {"$ref": "#/components/schemas/Tenant"}
        }
      },
      "File": {
        "type": "object",
        "required": ["id", "path", "size", "content_type", "sha256", "etag", "version", "owner_id", "created_at", "updated_at", "role"],
        "properties": {
          "id": {"$ref": "#/components/schemas/Id"},
          "path": {"$ref": "#/components/schemas/Path"},
          "size": {"type": "integer", "format": "int64", "minimum": 0, "example": 1048576},
          "content_type": {"type": "string", "example": "application/pdf"},
          "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "The SHA-256 of the content, lower-case hex."},
          "etag": {"type": "string", "description": "The entity tag of the current content, quoted as in the ETag header; for If-Match, If-None-Match and If-Range.", "example": "\"1a2b3c\""},
          "version": {"type": "integer", "format": "int64", "minimum": 1, "description": "1 on creation, + 1 on each overwrite."},
          "owner_id": {"$ref": "#/components/schemas/Id"},
          "created_at": {"$ref": "#/components/schemas/Time"},
          "updated_at": {"$ref": "#/components/schemas/Time"},
          "role": {"$ref": "#/components/schemas/FileRole"}
        }
      },
      "FileList": {
        "type": "object",
        "required": ["items", "folders", "next_cursor"],
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
          "folders": {"type": "array", "description": "With a delimiter: the common prefixes (ending in `/`) that hold at least one readable file; else empty.", "items": {"type": "string"}, "example": ["reports/2026/"]},
          "next_cursor": {"type": "string", "nullable": true, "description": "The cursor of the next page; null on the last page."}
        }
      },
      "RenameFileRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["path"],
        "properties": {"path": {"$ref": "#/components/schemas/Path"}}
      },
      "DownloadUrlRequest": {
        "type": "object",
        "additionalProperties": false,
        "properties": {"expires_in": {"type": "integer", "minimum": 1, "maximum": 604800, "description": "Seconds until the URL expires (1 s to 7 days); default 15 minutes, configurable."}}
      },
      "DownloadUrl": {
        "type": "object",
        "required": ["url", "method", "expires_at"],
        "properties": {
          "url": {"type": "string", "format": "uri"},
          "method": {"type": "string", "enum": ["GET"]},
          "expires_at": {"$ref": "#/components/schemas/Time"}
        }
      },
      "CreateUploadRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["path", "size"],
        "properties": {
          "path": {"$ref": "#/components/schemas/Path"},
          "size": {"type": "integer", "format": "int64", "minimum": 0},
          "content_type": {"type": "string", "description": "Default `application/octet-stream`."},
          "sha256": {"$ref": "#/components/schemas/Sha256"},
          "overwrite": {"type": "boolean", "default": false},
          "expires_in": {"type": "integer", "minimum": 1, "maximum": 604800, "description": "Seconds until the URLs expire (1 s to 7 days); default 15 minutes, configurable."}
        }
      },
      "UploadPart": {
        "type": "object",
        "required": ["number", "url", "size"],
        "properties": {
          "number": {"type": "integer", "minimum": 1},
          "url": {"type": "string", "format": "uri"},
          "size": {"type": "integer", "format": "int64", "minimum": 0}
        }
      },
      "Upload": {
        "type": "object",
        "required": ["upload_id", "method", "headers", "expires_at"],
        "description": "Either `url` (one PUT) or `parts` (one PUT per part; keep each answer's ETag for completing).",
        "properties": {
          "upload_id": {"$ref": "#/components/schemas/Id"},
          "method": {"type": "string", "enum": ["PUT"]},
          "url": {"type": "string", "format": "uri"},
          "parts": {"type": "array", "items": {"$ref": "#/components/schemas/UploadPart"}},
          "headers": {"type": "object", "description": "Headers the client must send with each PUT (signed: sent otherwise, the store refuses the PUT). With `parts`, each PUT also sends `Content-Length`: its part's `size`.", "additionalProperties": {"type": "string"}},
          "expires_at": {"$ref": "#/components/schemas/Time"}
        }
      },
      "CompleteUploadRequest": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "parts": {
            "type": "array",
            "description": "The parts uploaded, in ascending order, with the ETags their PUTs answered; optional for an upload of one part.",
            "items": {
              "type": "object",
              "additionalProperties": false,
              "required": ["number", "etag"],
              "properties": {"number": {"type": "integer", "minimum": 1}, "etag": {"type": "string"}}
            }
          }
        }
      },
      "Grant": {
        "type": "object",
        "required": ["file_id", "principal", "user_id", "role", "granted_by", "granted_at"],
        "properties": {
          "file_id": {"$ref": "#/components/schemas/Id"},
          "principal": {"type": "string", "enum": ["user", "tenant"]},
          "user_id": {"type": "string", "nullable": true, "description": "The grantee for principal `user`; null for `tenant`."},
          "role": {"$ref": "#/components/schemas/FileRole"},
          "granted_by": {"$ref": "#/components/schemas/Id"},
          "granted_at": {"$ref": "#/components/schemas/Time"}
        }
      },
      "FileAcl": {
        "type": "object",
        "required": ["file_id", "owner_id", "grants"],
        "properties": {
          "file_id": {"$ref": "#/components/schemas/Id"},
          "owner_id": {"$ref": "#/components/schemas/Id"},
          "grants": {"type": "array", "items": {"$ref": "#/components/schemas/Grant"}}
        }
      },
      "UserGrants": {
        "type": "object",
        "required": ["user_id", "grants"],
        "properties": {
          "user_id": {"$ref": "#/components/schemas/Id"},
          "grants": {"type": "array", "items": {"$ref": "#/components/schemas/Grant"}}
        }
      },
      "GrantRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["file_id", "role"],
        "description": "Exactly one of `user_id` and `\"principal\": \"tenant\"`.",
        "properties": {
          "file_id": {"$ref": "#/components/schemas/Id"},
          "user_id": {"$ref": "#/components/schemas/Id"},
          "principal": {"type": "string", "enum": ["tenant"]},
          "role": {"type": "string", "enum": ["viewer", "editor", "admin", "none"], "description": "`none` revokes (204)."}
        }
      },
      "User": {
        "type": "object",
        "required": ["id", "tenant_id", "username", "role", "disabled", "created_at"],
        "description": "Never a password or its hash.",
        "properties": {
          "id": {"$ref": "#/components/schemas/Id"},
          "tenant_id": {"$ref": "#/components/schemas/Id"},
          "username": {"$ref": "#/components/schemas/Username"},
          "role": {"$ref": "#/components/schemas/TenantRole"},
          "disabled": {"type": "boolean"},
          "created_at": {"$ref": "#/components/schemas/Time"}
        }
      },
      "UserList": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
          "next_cursor": {"type": "string", "nullable": true, "description": "The cursor of the next page; null on the last page."}
        }
      },
      "CreateUserRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["username", "role"],
        "properties": {
          "username": {"$ref": "#/components/schemas/Username"},
          "role": {"$ref": "#/components/schemas/TenantRole"},
          "password": {"type": "string", "format": "password", "description": "Absent: the user cannot sign in with a password (tokens only)."}
        }
      },
      "UpdateUserRequest": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "role": {"$ref": "#/components/schemas/TenantRole"},
          "disabled": {"type": "boolean"},
          "password": {"type": "string", "format": "password"}
        }
      },
      "Tenant": {
        "type": "object",
        "required": ["id", "slug", "name", "quota_bytes", "quota_files", "used_bytes", "used_files", "created_at"],
        "properties": {
          "id": {"$ref": "#/components/schemas/Id"},
          "slug": {"$ref": "#/components/schemas/Slug"},
          "name": {"type": "string"},
          "quota_bytes": {"type": "integer", "format": "int64", "minimum": 0, "nullable": true, "description": "null: no byte quota."},
          "quota_files": {"type": "integer", "format": "int64", "minimum": 0, "nullable": true, "description": "null: no file quota."},
          "used_bytes": {"type": "integer", "format": "int64", "minimum": 0},
          "used_files": {"type": "integer", "format": "int64", "minimum": 0},
          "created_at": {"$ref": "#/components/schemas/Time"}
        }
      },
      "TenantList": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/Tenant"}},
          "next_cursor": {"type": "string", "nullable": true, "description": "The cursor of the next page; null on the last page."}
        }
      },
      "CreateTenantRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["slug", "name", "admin"],
        "properties": {
          "slug": {"$ref": "#/components/schemas/Slug"},
          "name": {"type": "string"},
          "quota_bytes": {"type": "integer", "format": "int64", "minimum": 0, "nullable": true},
          "quota_files": {"type": "integer", "format": "int64", "minimum": 0, "nullable": true},
          "admin": {
            "type": "object",
            "additionalProperties": false,
            "required": ["username"],
            "description": "The tenant's first admin.",
            "properties": {
              "username": {"$ref": "#/components/schemas/Username"},
              "password": {"type": "string", "format": "password"}
            }
          }
        }
      },
      "CreatedTenant": {
        "type": "object",
        "required": ["tenant", "admin"],
        "properties": {
          "tenant": {"$ref": "#/components/schemas/Tenant"},
          "admin": {"$ref": "#/components/schemas/User"}
        }
      },
      "UpdateTenantRequest": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string"},
          "quota_bytes": {"type": "integer", "format": "int64", "minimum": 0, "nullable": true, "description": "null removes the quota."},
          "quota_files": {"type": "integer", "format": "int64", "minimum": 0, "nullable": true, "description": "null removes the quota."}
        }
      },
      "Readiness": {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
          "status": {"type": "string", "enum": ["ready", "unavailable"]},
          "checks": {
            "type": "object",
            "required": ["database", "storage"],
            "properties": {
              "database": {"type": "string", "description": "`ok`, or what failed."},
              "storage": {"type": "string", "description": "`ok`, or what failed."}
            }
          },
          "failed": {"type": "string", "enum": ["database", "storage", "database and storage"]}
        }
      }
    }
  }
})json";
  return kDocument;
}

}  // namespace coffer::api
