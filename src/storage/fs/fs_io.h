// Small POSIX helpers for the local-directory store: an owning file descriptor and the mapping
// from errno to Coffer's errors.
#pragma once

#include <string_view>

#include "core/error.h"

namespace coffer::storage {

// Owns a file descriptor; closes it on destruction. -1 means none.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// The error for a failed system call `op` with `err` (an errno value): kStorageUnavailable when
// the store itself is in trouble (EIO, ENOSPC, EDQUOT, EROFS, EACCES, ...), kInternal otherwise.
// `detail` names the operation and carries strerror(err); `message` says nothing of either.
Error errno_error(std::string_view op, int err);

}  // namespace coffer::storage
