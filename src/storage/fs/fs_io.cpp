#include "storage/fs/fs_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace coffer::storage {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Error errno_error(std::string_view op, int err) {
  std::string detail = "fs: " + std::string(op) + ": " + std::strerror(err);
  switch (err) {
    case EIO:
    case ENOSPC:
    case EDQUOT:
    case EROFS:
    case EACCES:
    case EPERM:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ESTALE:
    case EAGAIN:
    case EBUSY:
    case ETIMEDOUT:
    case ENODEV:
    case ENXIO:
    case ENOENT:  // reported here only for the store's own directories: the root is gone
      return Error::StorageUnavailable(std::move(detail));
    default:
      return Error::Internal(std::move(detail));
  }
}

}  // namespace coffer::storage
