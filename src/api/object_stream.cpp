#include "api/object_stream.h"

namespace coffer::api {

namespace {
constexpr std::size_t kChunkBytes = 256 * 1024;
}  // namespace

void stream_object(Response& response, std::unique_ptr<storage::ObjectReader> reader) {
  std::shared_ptr<storage::ObjectReader> shared = std::move(reader);
  response.stream_length = shared->size();
  response.stream = [shared](ByteSink& out) -> Result<void> {
    auto buffer = std::make_unique<char[]>(kChunkBytes);
    for (;;) {
      COFFER_TRY(std::size_t n, shared->read(std::span<char>(buffer.get(), kChunkBytes)));
      if (n == 0) return Ok();
      COFFER_TRY_VOID(out.write(std::string_view(buffer.get(), n)));
    }
  };
}

}  // namespace coffer::api
