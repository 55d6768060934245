#include "core/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.h"

namespace coffer {

Result<std::string> load_or_create_file(const std::string& path,
                                        const std::function<std::string()>& make) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    }
  }
  // Write a temporary file, then link it into place: link fails if another process won.
  std::string content = make();
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Internal("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Error::Internal("cannot write " + tmp);
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && link_errno != EEXIST) {
    return Error::Internal("cannot create " + path + ": " + std::strerror(link_errno));
  }
  if (rc != 0) return load_or_create_file(path, make);  // another process created it first
  return content;
}

Result<std::string> load_or_create_secret(const std::string& path, std::size_t bytes) {
  COFFER_TRY(std::string secret, load_or_create_file(path, [bytes] { return random_bytes(bytes); }));
  if (secret.size() != bytes) {
    return Error::Internal("secret file " + path + " has " + std::to_string(secret.size()) +
                           " bytes, expected " + std::to_string(bytes));
  }
  return secret;
}

}  // namespace coffer
